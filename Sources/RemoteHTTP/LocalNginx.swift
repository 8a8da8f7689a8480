import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real nginx with its WebDAV module on 127.0.0.1, run as the current user from a private prefix
/// (its own nginx.conf, pid file, logs and temp paths; `daemon off`), for `pipe bench remote` and the
/// remote tests. `start` says why instead when nginx is not installed or does not come up.
public final class LocalNginx: @unchecked Sendable {
    public let directory: String
    public let port: Int
    /// Serving https:// with this certificate and key (PEM files), or plain http://.
    public let tls: TLSFiles?
    private let process: Process

    /// A server certificate and its private key, PEM.
    public struct TLSFiles: Sendable {
        public var certificate: String
        public var key: String
        public init(certificate: String, key: String) { self.certificate = certificate; self.key = key }
    }

    /// The remote's URL (the `/pipe/` location).
    public var url: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)/pipe" }
    /// Where the remote's files are on disk.
    public var remoteRoot: String { directory + "/www/pipe" }

    /// The location block pipe needs (README "Sharing a cache" shows the same).
    public static func location(root: String, davExt: Bool = true) -> String {
        """
                location /pipe/ {
                    root \(root);
                    dav_methods PUT DELETE MKCOL COPY MOVE;
                    create_full_put_path on;
                    dav_access user:rw group:r all:r;
                    client_max_body_size 0;
                    client_body_buffer_size 1m;
                    # Optional (libnginx-mod-http-dav-ext): lets `pipe gc --remote` list tmp/.
                    \(davExt ? "" : "# ")dav_ext_methods PROPFIND OPTIONS;
                }
        """
    }

    /// Where Debian's WebDAV extension module (PROPFIND) is, when installed.
    public static let davExtModule = ["/usr/lib/nginx/modules/ngx_http_dav_ext_module.so", "/usr/share/nginx/modules/ngx_http_dav_ext_module.so"]
        .first { FileManager.default.fileExists(atPath: $0) }

    public static let candidates = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx", "/usr/local/nginx/sbin/nginx"]

    public static func start(in directory: String, tls: TLSFiles? = nil) -> Result<LocalNginx, LocalNginxUnavailable> {
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .failure(.init(reason: "nginx is not installed (apt-get install nginx-light libnginx-mod-http-dav-ext)"))
        }
        let port = freeLoopbackPort()
        for sub in ["www/pipe", "body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"] {
            try? FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        let user = getuid() == 0 ? "user root root;\n" : ""
        let module = davExtModule.map { "load_module \($0);\n" } ?? ""
        let listen = tls.map { "listen 127.0.0.1:\(port) ssl;\n        ssl_certificate \($0.certificate);\n        ssl_certificate_key \($0.key);" }
            ?? "listen 127.0.0.1:\(port);"
        let config = """
        \(module)\(user)worker_processes auto;
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
                \(listen)
        \(location(root: directory + "/www", davExt: davExtModule != nil))
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
        let server = LocalNginx(directory: directory, port: port, tls: tls, process: process)
        for _ in 0..<100 {
            if canConnectLoopback(port: port) { return .success(server) }
            if !process.isRunning { break }
            usleep(50_000)
        }
        server.stop()
        let log = (try? String(contentsOfFile: directory + "/logs/error.log", encoding: .utf8)) ?? ""
        return .failure(.init(reason: "nginx did not start: " + String(log.suffix(400))))
    }

    /// A self-signed certificate for 127.0.0.1 (and localhost) made with `openssl req` in `directory`:
    /// the server's certificate, and the CA file a client must be given to trust it.
    public static func makeSelfSignedCertificate(in directory: String, name: String = "server") -> Result<TLSFiles, LocalNginxUnavailable> {
        guard let binary = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .failure(.init(reason: "openssl is not installed (apt-get install openssl)"))
        }
        let files = TLSFiles(certificate: directory + "/\(name).crt", key: directory + "/\(name).key")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                             "-keyout", files.key, "-out", files.certificate]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        do { try process.run() } catch { return .failure(.init(reason: "cannot run \(binary): \(error)")) }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: files.certificate) else {
            return .failure(.init(reason: "openssl req failed: " + String(decoding: message.suffix(400), as: UTF8.self)))
        }
        return .success(files)
    }

    private init(directory: String, port: Int, tls: TLSFiles?, process: Process) {
        self.directory = directory; self.port = port; self.tls = tls; self.process = process
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
