import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `https://` exchanges through URLSession (FoundationNetworking, i.e. libcurl, on Linux): TLS is not
/// worth re-implementing. Synchronous wrappers around one shared ephemeral session; failures below
/// HTTP become `HTTPTransportFailure` (retried by `HTTPBlobs`).
enum HTTPSExchange {
    #if canImport(FoundationNetworking) || canImport(Darwin)
    static let isAvailable = true

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        return URLSession(configuration: configuration)
    }()

    private final class Box: @unchecked Sendable {
        var data: Data?
        var response: URLResponse?
        var error: (any Error)?
        var moveError: String?
    }

    static func perform(method: String, url: String, headers: [(String, String)], body: HTTPConnection.Body,
                        sink: HTTPConnection.Sink, timeout: Double) throws -> HTTPResponse {
        guard let address = URL(string: url) else { throw HTTPTransportFailure(description: "invalid URL \(url)") }
        var request = URLRequest(url: address, timeoutInterval: timeout)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let task: URLSessionTask
        switch (body, sink) {
        case (.file(let path, _), _):
            task = session.uploadTask(with: request, fromFile: URL(fileURLWithPath: path)) { data, response, error in
                box.data = data; box.response = response; box.error = error; done.signal()
            }
        case (.bytes(let bytes), _):
            task = session.uploadTask(with: request, from: Data(bytes)) { data, response, error in
                box.data = data; box.response = response; box.error = error; done.signal()
            }
        case (.none, .file(let path)):
            task = session.downloadTask(with: request) { location, response, error in
                box.response = response; box.error = error
                if let location, let http = response as? HTTPURLResponse {
                    if (200..<300).contains(http.statusCode) {
                        do { try FileManager.default.moveItem(at: location, to: URL(fileURLWithPath: path)) } catch {
                            box.moveError = "\(error)"
                        }
                    } else {
                        box.data = try? Data(contentsOf: location)
                    }
                }
                done.signal()
            }
        case (.none, _):
            task = session.dataTask(with: request) { data, response, error in
                box.data = data; box.response = response; box.error = error; done.signal()
            }
        }
        task.resume()
        done.wait()
        if let error = box.error { throw HTTPTransportFailure(description: "\(error.localizedDescription)") }
        if let moveError = box.moveError { throw LocalFileFailure(description: moveError) }
        guard let http = box.response as? HTTPURLResponse else { throw HTTPTransportFailure(description: "no HTTP response") }
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        if method == "GET", (200..<300).contains(http.statusCode), case .memory = sink, let length = fields["content-length"].flatMap(Int.init),
           let data = box.data, data.count != length {
            throw HTTPTransportFailure(description: "short body: the server sent \(data.count) of \(length) bytes")
        }
        return HTTPResponse(status: http.statusCode, reason: HTTPURLResponse.localizedString(forStatusCode: http.statusCode),
                            headers: fields, body: [UInt8](box.data ?? Data()))
    }
    #else
    static let isAvailable = false

    static func perform(method: String, url: String, headers: [(String, String)], body: HTTPConnection.Body,
                        sink: HTTPConnection.Sink, timeout: Double) throws -> HTTPResponse {
        throw HTTPTransportFailure(description: "https is not available in this build")
    }
    #endif
}
