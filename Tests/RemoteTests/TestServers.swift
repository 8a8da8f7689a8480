import Foundation

/// `fault_server.py`: a small file server that injects 500s, short bodies and delays on request.
final class FaultServer: @unchecked Sendable {
    let root: String
    let port: Int
    private let process: Process
    var url: String { "http://127.0.0.1:\(port)" }

    static func start(root: String) -> Result<FaultServer, TestSkip> {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fault_server.py").path
        let process = Process()
        // The system python3 directly: a version-manager shim in between would outlive terminate().
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        process.executableURL = URL(fileURLWithPath: python ?? "/usr/bin/env")
        process.arguments = (python == nil ? ["python3"] : []) + [script, root]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return .failure(TestSkip("cannot start python3: \(error)")) }
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let fields = String(decoding: line, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let port = Int(fields[0]), let pid = Int32(fields[1]) else {
            process.terminate()
            return .failure(TestSkip("fault_server.py did not start (is python3 installed?)"))
        }
        return .success(FaultServer(root: root, port: port, pid: pid, process: process))
    }

    /// The server's own pid (the process started may be a wrapper around it).
    private let pid: Int32

    private init(root: String, port: Int, pid: Int32, process: Process) {
        self.root = root; self.port = port; self.pid = pid; self.process = process
    }

    /// Sends a fault specification (see fault_server.py) with curl-free plain sockets via URLSession-less HTTP.
    func inject(_ json: String) throws {
        let status = try PlainHTTP.put(port: port, path: "/_faults", body: Array(json.utf8))
        guard status == 204 else { throw TestFailure("fault server refused \(json): \(status)") }
    }

    /// Requests per method so far.
    func stats() throws -> [String: Int] {
        let body = try PlainHTTP.get(port: port, path: "/_stats")
        return (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Int]) ?? [:]
    }

    deinit {
        kill(pid, SIGKILL)
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

struct TestSkip: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One-shot HTTP for test control requests (independent of the client under test).
enum PlainHTTP {
    static func exchange(port: Int, request: [UInt8]) throws -> (Int, [UInt8]) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { throw TestFailure("cannot connect to 127.0.0.1:\(port)") }
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = text.range(of: "\r\n\r\n").map { Array(text[$0.upperBound...].utf8) } ?? []
        return (status, body)
    }

    static func put(port: Int, path: String, body: [UInt8]) throws -> Int {
        try exchange(port: port, request: Array("PUT \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body).0
    }

    static func get(port: Int, path: String) throws -> [UInt8] {
        try exchange(port: port, request: Array("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)).1
    }
}
