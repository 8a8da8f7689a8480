import CTLS
import Foundation
import Store
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why one HTTP exchange failed below the HTTP level; all of these are worth retrying.
struct HTTPTransportFailure: Error, CustomStringConvertible {
    var description: String
}

/// One HTTP/1.1 response: status, lower-cased headers, and the body when it was read into memory.
struct HTTPResponse {
    var status: Int
    var reason: String
    var headers: [String: String]
    var body: [UInt8]
    /// What was written to the file sink (size and SHA-256, hashed while streaming).
    var file: DownloadedFile? = nil
}

/// A keep-alive HTTP/1.1 connection over a TCP socket (plain `http://`). Small on purpose: request
/// bodies from memory or streamed from a file, response bodies to memory or streamed to a file
/// (Content-Length, chunked, or until close), timeouts through SO_RCVTIMEO/SO_SNDTIMEO, and
/// `MSG_NOSIGNAL` so a server that hangs up never raises SIGPIPE in pipe.
final class HTTPConnection {
    enum Body { case none, bytes([UInt8]), file(path: String, size: Int64) }
    /// Where a 2xx response body goes (error bodies always go to memory, for the message).
    enum Sink { case memory, file(String), discard }

    let host: String
    let port: Int
    let timeout: Double
    /// Set for `https://`: every byte then goes through `ssl`.
    let tls: TLSContext?
    private var socketDescriptor: Int32 = -1
    private var ssl: OpaquePointer?
    /// Bytes received but not yet consumed.
    private var pending: [UInt8] = []
    private var pendingStart = 0
    /// One receive buffer per connection (not per `recv`): bodies stream through it.
    private let receiveBuffer = UnsafeMutableRawPointer.allocate(byteCount: HTTPConnection.chunk, alignment: 4096)
    private static let chunk = 1 << 20

    init(host: String, port: Int, timeout: Double, tls: TLSContext? = nil) {
        self.host = host; self.port = port; self.timeout = timeout; self.tls = tls
    }

    deinit { disconnect(); receiveBuffer.deallocate() }

    var isConnected: Bool { socketDescriptor >= 0 }

    func disconnect() {
        if let ssl { SSL_free(ssl) }
        ssl = nil
        if socketDescriptor >= 0 { close(socketDescriptor) }
        socketDescriptor = -1
        pending = []; pendingStart = 0
    }

    private func connectIfNeeded() throws {
        guard socketDescriptor < 0 else { return }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &list)
        guard code == 0, let first = list else {
            throw HTTPTransportFailure(description: "cannot resolve host \(host): \(String(cString: gai_strerror(code)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.ai_protocol)
            if fd >= 0 {
                var seconds = timeval(tv_sec: Int(timeout), tv_usec: .init((timeout - Double(Int(timeout))) * 1e6))
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                if connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 {
                    if let tls {
                        do { ssl = try tls.connect(fd: fd, host: host) } catch { close(fd); throw error }
                    }
                    socketDescriptor = fd
                    return
                }
                lastError = errno
                close(fd)
            }
            entry = address.pointee.ai_next
        }
        throw HTTPTransportFailure(description: "cannot connect to \(host):\(port): \(String(cString: strerror(lastError)))")
    }

    /// Sends one request and reads its response. On any transport failure the connection is closed
    /// (the next request reconnects) and `HTTPTransportFailure` is thrown.
    func exchange(method: String, target: String, headers: [(String, String)], body: Body, sink: Sink) throws -> HTTPResponse {
        do {
            try connectIfNeeded()
            var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            switch body {
            case .none: if method == "PUT" { head += "Content-Length: 0\r\n" }
            case .bytes(let bytes): head += "Content-Length: \(bytes.count)\r\n"
            case .file(_, let size): head += "Content-Length: \(size)\r\n"
            }
            head += "\r\n"
            switch body {
            case .bytes(let bytes): try sendAll(Array(head.utf8) + bytes)
            case .file(let path, let size): try sendAll(Array(head.utf8)); try sendFile(path, size: size)
            case .none: try sendAll(Array(head.utf8))
            }
            return try readResponse(method: method, sink: sink)
        } catch let failure as HTTPTransportFailure {
            disconnect()
            throw failure
        }
    }

    private func sendAll(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { transmit($0.baseAddress! + sent, $0.count - sent) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HTTPTransportFailure(description: errno == EAGAIN ? "timed out sending after \(timeout)s" : "send failed: \(String(cString: strerror(errno)))")
            }
            sent += n
        }
    }

    private func sendFile(_ path: String, size: Int64) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LocalFileFailure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.chunk * 4, alignment: 4096)
        defer { buffer.deallocate() }
        var remaining = size
        while remaining > 0 {
            let n = read(fd, buffer, Int(min(Int64(Self.chunk * 4), remaining)))
            if n < 0 { if errno == EINTR { continue }; throw LocalFileFailure(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { throw LocalFileFailure(description: "\(path) shrank while it was uploaded") }
            var sent = 0
            while sent < n {
                let w = transmit(buffer + sent, n - sent)
                if w < 0 {
                    if errno == EINTR { continue }
                    throw HTTPTransportFailure(description: errno == EAGAIN ? "timed out sending after \(timeout)s" : "send failed: \(String(cString: strerror(errno)))")
                }
                sent += w
            }
            remaining -= Int64(n)
        }
    }

    /// `send` (plain) or `SSL_write` (https), with errno set on failure like `send`'s.
    private func transmit(_ base: UnsafeRawPointer, _ count: Int) -> Int {
        guard let ssl else { return send(socketDescriptor, base, count, Int32(MSG_NOSIGNAL)) }
        let n = SSL_write(ssl, base, Int32(min(count, Int(Int32.max))))
        if n > 0 { return Int(n) }
        Self.setErrno(ssl, n)
        return -1
    }

    /// `recv` (plain) or `SSL_read` (https): bytes read, 0 at end of stream, -1 with errno set.
    private func collect(_ base: UnsafeMutableRawPointer, _ count: Int) -> Int {
        guard let ssl else { return recv(socketDescriptor, base, count, 0) }
        let n = SSL_read(ssl, base, Int32(min(count, Int(Int32.max))))
        if n > 0 { return Int(n) }
        let code = SSL_get_error(ssl, n)
        if code == SSL_ERROR_ZERO_RETURN || (code == SSL_ERROR_SYSCALL && errno == 0) { return 0 }
        Self.setErrno(ssl, n)
        return -1
    }

    /// Maps a failed TLS read or write onto errno: a socket timeout stays EAGAIN, TLS errors are EPROTO.
    private static func setErrno(_ ssl: OpaquePointer, _ result: Int32) {
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: errno = EAGAIN
        case SSL_ERROR_SYSCALL: if errno == 0 { errno = ECONNRESET }
        default: ERR_clear_error(); errno = EPROTO
        }
    }

    // MARK: Reading

    /// Receives more bytes into `pending`; false at end of stream.
    private func fill() throws -> Bool {
        if pendingStart > 0 && pendingStart == pending.count { pending.removeAll(keepingCapacity: true); pendingStart = 0 }
        let n = try receive()
        if n == 0 { return false }
        pending.append(contentsOf: UnsafeRawBufferPointer(start: receiveBuffer, count: n))
        return true
    }

    /// One `recv` into `receiveBuffer`; 0 at end of stream.
    private func receive() throws -> Int {
        while true {
            let n = collect(receiveBuffer, Self.chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw HTTPTransportFailure(description: errno == EAGAIN ? "timed out after \(timeout)s waiting for the server" : "receive failed: \(String(cString: strerror(errno)))")
            }
            return n
        }
    }

    private var available: Int { pending.count - pendingStart }

    private func readLine() throws -> String {
        while true {
            if let end = pending[pendingStart...].firstIndex(of: 0x0A) {
                var line = pending[pendingStart..<end]
                if line.last == 0x0D { line = line.dropLast() }
                pendingStart = end + 1
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill() else { throw HTTPTransportFailure(description: "the server closed the connection before a complete response") }
        }
    }

    private func readResponse(method: String, sink: Sink) throws -> HTTPResponse {
        var statusLine = try readLine()
        // 100 Continue and other interim responses.
        while true {
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
                throw HTTPTransportFailure(description: "the server sent a malformed status line '\(statusLine.prefix(80))'")
            }
            var headers: [String: String] = [:]
            while true {
                let line = try readLine()
                if line.isEmpty { break }
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            if status >= 100 && status < 200 { statusLine = try readLine(); continue }
            let reason = parts.count > 2 ? String(parts[2]) : ""
            var response = HTTPResponse(status: status, reason: reason, headers: headers, body: [])
            let hasBody = method != "HEAD" && status != 204 && status != 304
            let toFile: String? = if case .file(let path) = sink, (200..<300).contains(status) { path } else { nil }
            let keep = !(200..<300).contains(status) || { if case .memory = sink { true } else { false } }()
            if hasBody { (response.body, response.file) = try readBody(headers: headers, toFile: toFile, keepInMemory: keep) }
            if headers["connection"]?.lowercased() == "close" { disconnect() }
            return response
        }
    }

    /// Reads the body (Content-Length, chunked, or to end of stream) into memory, a new file (hashed
    /// as it is written), or nowhere.
    private func readBody(headers: [String: String], toFile path: String?, keepInMemory: Bool) throws -> (body: [UInt8], file: DownloadedFile?) {
        var memory: [UInt8] = []
        var writer: HashingFileWriter?
        if let path {
            do { writer = try HashingFileWriter(path: path) } catch let failure as HashingFileWriter.Failure {
                throw LocalFileFailure(description: failure.description, noSpace: failure.noSpace)
            }
        }
        func store(_ base: UnsafeRawPointer, _ count: Int) throws {
            do { try writer?.write(base, count: count) } catch let failure as HashingFileWriter.Failure {
                throw LocalFileFailure(description: failure.description, noSpace: failure.noSpace)
            }
        }
        func consume(_ count: Int) throws {
            if writer != nil {
                try pending.withUnsafeBytes { raw in try store(raw.baseAddress! + pendingStart, count) }
            } else if keepInMemory {
                memory.append(contentsOf: pending[pendingStart..<(pendingStart + count)])
            }
            pendingStart += count
        }
        func copy(_ length: Int64) throws {
            var remaining = length
            // Large bodies to a file skip `pending`: straight from the receive buffer to the file.
            while remaining > 0 && available == 0 && writer != nil {
                let n = try receive()
                if n == 0 { throw HTTPTransportFailure(description: "short body: the server sent \(length - remaining) of \(length) bytes") }
                let take = min(n, Int(remaining))
                try store(receiveBuffer, take)
                if take < n { pending.append(contentsOf: UnsafeRawBufferPointer(start: receiveBuffer + take, count: n - take)) }
                remaining -= Int64(take)
            }
            while remaining > 0 {
                if available == 0, try !fill() {
                    throw HTTPTransportFailure(description: "short body: the server sent \(length - remaining) of \(length) bytes")
                }
                let take = Int(min(Int64(available), remaining))
                try consume(take)
                remaining -= Int64(take)
            }
        }
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = try readLine()
                guard let size = Int64(sizeLine.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "", radix: 16), size >= 0 else {
                    throw HTTPTransportFailure(description: "malformed chunk size '\(sizeLine.prefix(40))'")
                }
                if size == 0 {
                    while try !readLine().isEmpty {}
                    break
                }
                try copy(size)
                _ = try readLine()
            }
        } else if let lengthText = headers["content-length"] {
            guard let length = Int64(lengthText), length >= 0 else { throw HTTPTransportFailure(description: "malformed Content-Length '\(lengthText)'") }
            try copy(length)
        } else {
            while true {
                if available > 0 { try consume(available) }
                guard try fill() else { break }
            }
            disconnect()
        }
        guard let writer else { return (memory, nil) }
        do { return (memory, try writer.finish(sync: false)) } catch let failure as HashingFileWriter.Failure {
            throw LocalFileFailure(description: failure.description, noSpace: failure.noSpace)
        }
    }
}

/// A local file could not be read or written during a transfer (not worth retrying).
struct LocalFileFailure: Error, CustomStringConvertible {
    var description: String
    var noSpace = false
}
