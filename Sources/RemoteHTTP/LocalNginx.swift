import Foundation

/// A real nginx with its WebDAV module on 127.0.0.1, run as the current user from a private prefix
/// (its own nginx.conf, pid file, logs and temp paths; `daemon off`), for `pipe bench remote` and the
/// remote tests. `start` says why instead when nginx is not installed or does not come up.
public final class LocalNginx: @unchecked Sendable {
    public let directory: String
    public let port: Int
    private let process: Process

    /// The remote's URL (the `/pipe/` location).
    public var url: String { "http://127.0.0.1:\(port)/pipe" }
    /// Where the remote's files are on disk.
    public var remoteRoot: String { directory + "/www/pipe" }

    /// The location block pipe needs (README "Sharing a cache" shows the same).
    public static func location(root: String) -> String {
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

    public static let candidates = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx", "/usr/local/nginx/sbin/nginx"]

    public static func start(in directory: String) -> Result<LocalNginx, LocalNginxUnavailable> {
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .failure(.init(reason: "nginx is not installed (apt-get install nginx-light libnginx-mod-http-dav-ext)"))
        }
        let port = freeLoopbackPort()
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
        \(location(root: directory + "/www"))
            }
        }

        """
        let configPath = directory + "/nginx.conf"
        do { try config.write(toFile: configPath, atomically: true, encoding: .utf8) } catch {
            return .failure(.init(reason: "cannot write \(configPath): \(error)"))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-p", directory, "-c", configPath, "-e", directory + "/logs/error.log"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return .failure(.init(reason: "cannot start \(binary): \(error)")) }
        let server = LocalNginx(directory: directory, port: port, process: process)
        for _ in 0..<100 {
            if canConnectLoopback(port: port) { return .success(server) }
            if !process.isRunning { break }
            usleep(50_000)
        }
        server.stop()
        let log = (try? String(contentsOfFile: directory + "/logs/error.log", encoding: .utf8)) ?? ""
        return .failure(.init(reason: "nginx did not start: " + String(log.suffix(400))))
    }

    private init(directory: String, port: Int, process: Process) {
        self.directory = directory; self.port = port; self.process = process
    }

    public func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    deinit { stop() }
}

public struct LocalNginxUnavailable: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// A loopback port nothing listens on right now.
public func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

func canConnectLoopback(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
}
