import Foundation
import Store

/// A remote on an HTTP server speaking plain GET/HEAD/PUT: an nginx WebDAV location (uploads go to
/// `tmp/` and are MOVEd into place) or any server whose PUT writes a file atomically (`upload: put`;
/// nginx's does: it receives the body into a temporary file and renames it). Both `http://` and
/// `https://` go over `HTTPConnection` (keep-alive, pooled; https through OpenSSL, see `TLSContext`).
///
/// Retries: connection errors, timeouts, short bodies and 5xx are retried with exponential back-off
/// (`retries` more attempts, 0.2 s doubling up to 30 s: `BackoffSchedule`); 4xx are not (404 means "missing"). A 404/409 on upload
/// creates the collections (MKCOL) once and tries again.
public final class HTTPBlobs: RemoteBlobs, @unchecked Sendable {
    public enum UploadMode: String, Sendable, CaseIterable {
        /// PUT to `tmp/<unique>`, then WebDAV MOVE to the final name.
        case move
        /// PUT straight to the final name (the server must write atomically, as nginx does).
        case put
    }

    public let location: String
    let scheme: String
    let host: String
    let port: Int
    /// URL path of the remote root, without a trailing slash ("" for the server root).
    let basePath: String
    let authorization: String?
    let uploadMode: UploadMode
    let retries: Int
    let timeout: Double
    let backoff: BackoffSchedule
    /// Waits between attempts (tests record the pauses instead of sleeping).
    var sleep: @Sendable (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }
    /// Set for https:// (peer verification always on; `caFile` adds a trusted CA).
    let tls: TLSContext?

    private let poolLock = NSLock()
    private var idle: [HTTPConnection] = []
    private var collectionsMade = false

    /// - Parameters:
    ///   - authorization: the full `Authorization` header value (built by the caller from an
    ///     environment variable), or nil.
    ///   - caFile: for https://, a PEM file of CA certificates trusted in addition to the system's
    ///     (a private CA, or the server's self-signed certificate).
    public init(url: String, authorization: String?, uploadMode: UploadMode = .move, retries: Int = 3,
                timeout: Double = 30, firstBackoff: Double = 0.2, caFile: String? = nil) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw RemoteError.local(remote: url, reason: "'\(url)' is not an http:// or https:// URL")
        }
        self.location = url
        self.scheme = scheme
        self.host = host
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        self.basePath = path
        self.authorization = authorization
        self.uploadMode = uploadMode
        self.retries = max(0, retries)
        self.timeout = timeout
        self.backoff = BackoffSchedule(first: firstBackoff)
        if scheme == "https" {
            do { tls = try TLSContext(caFile: caFile) } catch {
                throw RemoteError.local(remote: url, reason: error.description)
            }
        } else {
            if let caFile {
                throw RemoteError.local(remote: url, reason: "ca_file (\(caFile)) applies to https:// remotes only; this one is http://")
            }
            tls = nil
        }
    }

    func target(_ path: String) -> String { basePath + "/" + path }
    func absoluteURL(_ path: String) -> String { "\(scheme)://\(host):\(port)" + target(path) }

    // MARK: RemoteBlobs

    public func size(of path: String) throws -> Int64? {
        let response = try request("HEAD", path, missingIsAnswer: true)
        guard response.status != 404 else { return nil }
        return Int64(response.headers["content-length"] ?? "") ?? 0
    }

    public func read(_ path: String) throws -> [UInt8]? {
        let response = try request("GET", path, missingIsAnswer: true)
        return response.status == 404 ? nil : response.body
    }

    public func download(_ path: String, to localFile: String, expectedSize: Int64?) throws -> DownloadedFile? {
        let response = try request("GET", path, missingIsAnswer: true, sink: .file(localFile), beforeAttempt: { unlink(localFile) })
        guard response.status != 404 else { return nil }
        guard let file = response.file else {
            throw RemoteError.local(remote: location, reason: "GET \(path) answered \(response.status) without a body")
        }
        return file
    }

    public func upload(file localFile: String, size: Int64, to path: String) throws {
        try place(path, body: .file(path: localFile, size: size))
    }

    public func upload(bytes: [UInt8], to path: String) throws {
        try place(path, body: .bytes(bytes))
    }

    /// WebDAV PROPFIND (Depth: 1); nil when the server does not allow it (nginx without dav_ext).
    public func list(_ directory: String) throws -> RemoteListing? {
        let response: HTTPResponse
        do {
            response = try request("PROPFIND", directory + "/", headers: [("Depth", "1")], missingIsAnswer: true)
        } catch let error as RemoteError {
            if case let .refused(_, _, reason) = error, reason.contains("does not allow PROPFIND") { return nil }
            throw error
        }
        let now = response.headers["date"].flatMap(WebDAVListing.parseDate) ?? Date()
        guard response.status != 404 else { return RemoteListing(files: [], now: now) }
        guard response.status == 207 else {
            throw RemoteError.refused(remote: location, path: directory + "/", reason: "PROPFIND answered HTTP \(response.status) \(response.reason), not a WebDAV listing (207)")
        }
        guard let files = WebDAVListing.files(in: String(decoding: response.body, as: UTF8.self)) else {
            throw RemoteError.corrupt(remote: location, what: "the listing of \(directory)/", reason: "the PROPFIND answer is not a WebDAV multistatus with sizes and dates")
        }
        return RemoteListing(files: files, now: now)
    }

    public func remove(_ path: String) throws {
        try request("DELETE", path, missingIsAnswer: true)
    }

    private func place(_ path: String, body: HTTPConnection.Body) throws {
        switch uploadMode {
        case .put:
            try withCollections(path) { try request("PUT", path, body: body) }
        case .move:
            let temporary = "tmp/" + Self.uniqueName()
            try withCollections(temporary) { try request("PUT", temporary, body: body) }
            do {
                try withCollections(path) {
                    try request("MOVE", temporary, headers: [("Destination", absoluteURL(path)), ("Overwrite", "T")])
                }
            } catch {
                // A MOVE whose answer was lost and that was retried finds its source gone: if the
                // file is in place, the move happened (and names are content addresses or records
                // whose objects are all there, so whichever writer's copy is there is right).
                if (try? size(of: path)) != nil, (try? size(of: temporary)) == nil { return }
                _ = try? request("DELETE", temporary, missingIsAnswer: true)
                throw error
            }
        }
    }

    /// Runs `body`; on 404/409 (a missing parent collection) makes the collections once and retries.
    private func withCollections(_ path: String, _ body: () throws -> HTTPResponse) throws {
        do { _ = try body() } catch let failure as MissingCollection {
            _ = failure
            makeCollections()
            _ = try body()
        }
    }

    private func makeCollections() {
        poolLock.lock(); let done = collectionsMade; collectionsMade = true; poolLock.unlock()
        guard !done else { return }
        var prefix = ""
        for component in basePath.split(separator: "/") {
            prefix += "/" + component
            _ = try? rawExchange("MKCOL", prefix + "/", headers: [], body: .none, sink: .discard)
        }
        for collection in RemoteLayout.collections {
            _ = try? rawExchange("MKCOL", target(collection) + "/", headers: [], body: .none, sink: .discard)
        }
    }

    static func uniqueName() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<12).map { _ in String(generator.next() % 16, radix: 16) }.joined()
        return "\(ProcessInfo.processInfo.hostName.replacingOccurrences(of: "/", with: "_"))~\(getpid())~\(random)"
    }

    // MARK: Requests with retries

    private struct MissingCollection: Error {}

    @discardableResult
    private func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: HTTPConnection.Body = .none,
                         missingIsAnswer: Bool = false, sink: HTTPConnection.Sink = .memory,
                         beforeAttempt: () -> Void = {}) throws -> HTTPResponse {
        var lastProblem = ""
        for attempt in 0...retries {
            // Thread.sleep, not usleep: a pause in microseconds could pass usleep's UInt32 (71 min).
            if attempt > 0 { sleep(backoff.delay(beforeRetry: attempt)) }
            beforeAttempt()
            let response: HTTPResponse
            do {
                response = try rawExchange(method, target(path), headers: headers, body: body, sink: sink)
            } catch let failure as HTTPTransportFailure {
                lastProblem = failure.description
                continue
            } catch let failure as LocalFileFailure {
                throw RemoteError.local(remote: location, reason: failure.description + (failure.noSpace ? " (the local disk is full)" : ""))
            } catch let failure as TLSVerificationFailure {
                throw RemoteError.refused(remote: location, path: path, reason: failure.description)
            }
            let status = response.status
            if (200..<300).contains(status) { return response }
            if status == 404 && missingIsAnswer { return response }
            if (status == 404 || status == 409) && (method == "PUT" || method == "MOVE") && !collectionsReady { throw MissingCollection() }
            let text = "HTTP \(status) \(response.reason)"
            switch status {
            case 507:
                throw RemoteError.full(remote: location, path: path, reason: "\(text) from \(method)")
            case 401, 403:
                throw RemoteError.refused(remote: location, path: path, reason: "\(method) was refused (\(text)); " + (authorization == nil
                    ? "the server wants credentials: name an environment variable holding them with auth_env in pipe.config.yaml"
                    : "check the credentials in the environment variable named by auth_env"))
            case 405, 501:
                throw RemoteError.refused(remote: location, path: path, reason: "the server does not allow \(method) (\(text)); for nginx: dav_methods PUT DELETE MKCOL COPY MOVE; or use upload: put")
            case 413:
                throw RemoteError.refused(remote: location, path: path, reason: "the server refused the upload as too large (\(text)); for nginx: client_max_body_size 0;")
            case 500..<600:
                lastProblem = text + (method == "PUT" || method == "MOVE" ? " (a full disk on the server also shows as 500)" : "")
                continue
            default:
                throw RemoteError.refused(remote: location, path: path, reason: "\(method) failed: \(text)")
            }
        }
        throw RemoteError.unavailable(remote: location, path: path, reason: "\(method) failed after \(retries + 1) attempt\(retries == 0 ? "" : "s"): \(lastProblem)")
    }

    private var collectionsReady: Bool { poolLock.lock(); defer { poolLock.unlock() }; return collectionsMade }

    /// One exchange on a pooled keep-alive connection.
    private func rawExchange(_ method: String, _ target: String, headers: [(String, String)], body: HTTPConnection.Body,
                             sink: HTTPConnection.Sink) throws -> HTTPResponse {
        var all = headers
        if let authorization { all.append(("Authorization", authorization)) }
        poolLock.lock()
        let connection = idle.popLast() ?? HTTPConnection(host: host, port: port, timeout: timeout, tls: tls)
        poolLock.unlock()
        let response = try connection.exchange(method: method, target: target, headers: all, body: body, sink: sink)
        if connection.isConnected {
            poolLock.lock(); idle.append(connection); poolLock.unlock()
        }
        return response
    }
}
