import Foundation
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
    private var socketDescriptor: Int32 = -1
    /// Bytes received but not yet consumed.
    private var pending: [UInt8] = []
    private var pendingStart = 0
    /// One receive buffer per connection (not per `recv`): bodies stream through it.
    private let receiveBuffer = UnsafeMutableRawPointer.allocate(byteCount: HTTPConnection.chunk, alignment: 4096)
    private static let chunk = 1 << 20

    init(host: String, port: Int, timeout: Double) {
        self.host = host; self.port = port; self.timeout = timeout
    }

    deinit { disconnect(); receiveBuffer.deallocate() }

    var isConnected: Bool { socketDescriptor >= 0 }

    func disconnect() {
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
            let n = bytes.withUnsafeBytes { send(socketDescriptor, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
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
                let w = send(socketDescriptor, buffer + sent, n - sent, Int32(MSG_NOSIGNAL))
                if w < 0 {
                    if errno == EINTR { continue }
                    throw HTTPTransportFailure(description: errno == EAGAIN ? "timed out sending after \(timeout)s" : "send failed: \(String(cString: strerror(errno)))")
                }
                sent += w
            }
            remaining -= Int64(n)
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
            let n = recv(socketDescriptor, receiveBuffer, Self.chunk, 0)
            if n < 0 {
                if errno == EINTR { continue }
                throw HTTPTransportFailure(description: errno == EAGAIN ? "timed out after \(timeout)s waiting for the server" : "receive failed: \(String(cString: strerror(errno)))")
            }
            return n
        }
    }

    /// Writes all of `count` bytes at `base` to `fd`.
    private static func writeAll(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int, path: String) throws {
        var written = 0
        while written < count {
            let n = write(fd, base + written, count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw LocalFileFailure(description: "cannot write \(path): \(String(cString: strerror(errno)))", noSpace: errno == ENOSPC)
            }
            written += n
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
            if hasBody { response.body = try readBody(headers: headers, toFile: toFile, keepInMemory: keep) }
            if headers["connection"]?.lowercased() == "close" { disconnect() }
            return response
        }
    }

    /// Reads the body (Content-Length, chunked, or to end of stream) into memory, a new file, or nowhere.
    private func readBody(headers: [String: String], toFile path: String?, keepInMemory: Bool) throws -> [UInt8] {
        var memory: [UInt8] = []
        var fd: Int32 = -1
        if let path {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw LocalFileFailure(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
        }
        defer { if fd >= 0 { close(fd) } }
        func consume(_ count: Int) throws {
            if fd >= 0 {
                try pending.withUnsafeBytes { raw in try Self.writeAll(fd, raw.baseAddress! + pendingStart, count, path: path!) }
            } else if keepInMemory {
                memory.append(contentsOf: pending[pendingStart..<(pendingStart + count)])
            }
            pendingStart += count
        }
        func copy(_ length: Int64) throws {
            var remaining = length
            var writtenToFile: Int64 = 0, flushedUpTo: Int64 = 0
            // Large bodies to a file skip `pending`: straight from the receive buffer to the file.
            while remaining > 0 && available == 0 && fd >= 0 {
                let n = try receive()
                if n == 0 { throw HTTPTransportFailure(description: "short body: the server sent \(length - remaining) of \(length) bytes") }
                let take = min(n, Int(remaining))
                try Self.writeAll(fd, receiveBuffer, take, path: path!)
                writtenToFile += Int64(take)
                if writtenToFile - flushedUpTo >= WriteBack.interval {
                    WriteBack.start(fd, offset: flushedUpTo, count: writtenToFile - flushedUpTo)
                    flushedUpTo = writtenToFile
                }
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
        return memory
    }
}

/// A local file could not be read or written during a transfer (not worth retrying).
struct LocalFileFailure: Error, CustomStringConvertible {
    var description: String
    var noSpace = false
}

/// Starts writeback of bytes just written (`sync_file_range(…, SYNC_FILE_RANGE_WRITE)`, looked up at
/// run time: Swift's Glibc module does not export it), so the fsync when the download is ingested
/// finds most of the file already on disk instead of writing it all then. A no-op where missing.
enum WriteBack {
    static let interval: Int64 = 8 << 20
    private typealias Function = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    private static let function: Function? = {
        #if os(Linux)
        guard let symbol = dlsym(nil, "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
        #else
        return nil
        #endif
    }()
    /// SYNC_FILE_RANGE_WRITE: start writeback, do not wait for it.
    static func start(_ fd: Int32, offset: Int64, count: Int64) { _ = function?(fd, offset, count, 2) }
}
