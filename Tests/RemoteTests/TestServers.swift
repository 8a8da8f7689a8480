import Foundation

/// A real nginx with its WebDAV module on 127.0.0.1, run as the current user from a temporary prefix
/// (its own nginx.conf, pid file, logs and temp paths; `daemon off`). `start` returns the reason
/// instead when nginx is not installed or does not come up, so tests can skip saying why.
final class NginxServer: @unchecked Sendable {
    let directory: String
    /// Files served under `/pipe/`.
    let documentRoot: String
    let port: Int
    private let process: Process

    var url: String { "http://127.0.0.1:\(port)/pipe" }
    /// Where the remote's files are on disk (to inspect or damage them).
    var remoteRoot: String { documentRoot + "/pipe" }

    /// The nginx location that pipe needs (also in README "Sharing a cache").
    static func location(root: String) -> String {
        """
            location /pipe/ {
                root \(root);
                dav_methods PUT DELETE MKCOL COPY MOVE;
                create_full_put_path on;
                dav_access user:rw group:r all:r;
                client_max_body_size 0;
                client_body_buffer_size 1m;
            }
        """
    }

    static func start(in directory: String) -> Result<NginxServer, TestSkip> {
        guard let binary = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx", "/usr/local/nginx/sbin/nginx"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .failure(TestSkip("nginx is not installed (apt-get install nginx-light libnginx-mod-http-dav-ext)"))
        }
        let port = freePort()
        let root = directory + "/www"
        for sub in ["www/pipe", "body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"] {
            try? FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        let user = getuid() == 0 ? "user root root;\n" : ""
        let config = """
        \(user)worker_processes 1;
        daemon off;
        pid \(directory)/nginx.pid;
        error_log \(directory)/logs/error.log warn;
        events { worker_connections 256; }
        http {
            access_log off;
            sendfile on;
            client_body_temp_path \(directory)/body;
            proxy_temp_path \(directory)/proxy;
            fastcgi_temp_path \(directory)/fastcgi;
            uwsgi_temp_path \(directory)/uwsgi;
            scgi_temp_path \(directory)/scgi;
            server {
                listen 127.0.0.1:\(port);
        \(location(root: root))
            }
        }
        """
        let configPath = directory + "/nginx.conf"
        do { try config.write(toFile: configPath, atomically: true, encoding: .utf8) } catch {
            return .failure(TestSkip("cannot write nginx.conf: \(error)"))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-p", directory, "-c", configPath, "-e", directory + "/logs/error.log"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return .failure(TestSkip("cannot start nginx: \(error)")) }
        let server = NginxServer(directory: directory, documentRoot: root, port: port, process: process)
        for _ in 0..<100 {
            if canConnect(port: port) { return .success(server) }
            if !process.isRunning { break }
            usleep(50_000)
        }
        server.stop()
        let log = (try? String(contentsOfFile: directory + "/logs/error.log", encoding: .utf8)) ?? ""
        return .failure(TestSkip("nginx did not start: \(log.suffix(400))"))
    }

    private init(directory: String, documentRoot: String, port: Int, process: Process) {
        self.directory = directory; self.documentRoot = documentRoot; self.port = port; self.process = process
    }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    deinit { stop() }
}

/// `fault_server.py`: a small file server that injects 500s, short bodies and delays on request.
final class FaultServer: @unchecked Sendable {
    let root: String
    let port: Int
    private let process: Process
    var url: String { "http://127.0.0.1:\(port)" }

    static func start(root: String) -> Result<FaultServer, TestSkip> {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fault_server.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, root]
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
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            return .failure(TestSkip("fault_server.py did not start (is python3 installed?)"))
        }
        return .success(FaultServer(root: root, port: port, process: process))
    }

    private init(root: String, port: Int, process: Process) { self.root = root; self.port = port; self.process = process }

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

    deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }
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

/// A port nothing listens on right now.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
}
