#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

#if canImport(Glibc)
private let sendFlags = Int32(MSG_NOSIGNAL)
@discardableResult private func systemClose(_ fd: Int32) -> Int32 { Glibc.close(fd) }
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#else
private let sendFlags: Int32 = 0
@discardableResult private func systemClose(_ fd: Int32) -> Int32 { Darwin.close(fd) }
private let streamSocket = SOCK_STREAM
#endif

/// A minimal HTTP/1.1 client for `http://` URLs over POSIX sockets: one POST per connection
/// (`Connection: close`), a deadline over connect, send and receive, `Content-Length` and chunked
/// bodies. Enough to talk to a local or cluster-internal reward server without linking libcurl into
/// the stage process; `https://` is refused with advice.
enum HTTPClient {
    struct Endpoint: Equatable {
        var host: String
        var port: UInt16
        /// Path and query, starting with `/`.
        var target: String
    }

    enum Failure: Error, Equatable {
        /// The connection could not be made or broke (retried).
        case connection(String)
        /// No complete answer before the deadline (retried).
        case timeout
        /// The server answered something that is not HTTP, or a cut-off body (retried: a broken connection).
        case truncated(String)
        case malformed(String)

        var retryable: Bool {
            switch self {
            case .connection, .timeout, .truncated: return true
            case .malformed: return false
            }
        }
    }

    struct Response {
        var status: Int
        var body: [UInt8]
    }

    /// Parses `http://host[:port][/path]` (IPv6 hosts in brackets).
    static func endpoint(_ url: String) throws -> Endpoint {
        let lower = url.lowercased()
        if lower.hasPrefix("https://") {
            throw StageError.badParam("reward_url", "'\(url)': https is not supported by the built-in client; serve the scorer on http:// (e.g. on 127.0.0.1 or inside the cluster) or put an http proxy in front of it")
        }
        guard lower.hasPrefix("http://") else {
            throw StageError.badParam("reward_url", "'\(url)' is not an http:// URL (expected e.g. http://127.0.0.1:5000/get_reward)")
        }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        var target = String(rest.dropFirst(authority.count))
        if target.isEmpty { target = "/" } else if target.hasPrefix("?") { target = "/" + target }
        var host = String(authority), port: UInt16 = 80
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw StageError.badParam("reward_url", "'\(url)': unterminated [IPv6] host") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = UInt16(after.dropFirst()) else { throw StageError.badParam("reward_url", "'\(url)': bad port") }
                port = p
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = UInt16(host[host.index(after: colon)...]) else { throw StageError.badParam("reward_url", "'\(url)': bad port '\(host[host.index(after: colon)...])'") }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty, !host.contains("@") else { throw StageError.badParam("reward_url", "'\(url)': no host (credentials in URLs are not supported)") }
        return Endpoint(host: host, port: port, target: target)
    }

    /// POSTs `body` as JSON and returns the answer, or fails when `timeout` seconds pass first.
    static func post(_ endpoint: Endpoint, body: [UInt8], timeout: Double) throws(Failure) -> Response {
        let deadline = now() + timeout
        let socket = try openConnection(endpoint, deadline: deadline)
        defer { systemClose(socket) }
        let hostHeader = endpoint.host.contains(":") ? "[\(endpoint.host)]:\(endpoint.port)" : "\(endpoint.host):\(endpoint.port)"
        let head = "POST \(endpoint.target) HTTP/1.1\r\nHost: \(hostHeader)\r\nContent-Type: application/json\r\n"
            + "Accept: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\nUser-Agent: pipe\r\n\r\n"
        try sendAll(socket, Array(head.utf8) + body, deadline: deadline)
        return try receive(socket, deadline: deadline)
    }

    private static func openConnection(_ endpoint: Endpoint, deadline: Double) throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamSocket
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard status == 0, let first = list else {
            throw .connection("cannot resolve '\(endpoint.host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { lastError = String(cString: strerror(errno)); continue }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            #if canImport(Darwin)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            guard errno == EINPROGRESS else { lastError = String(cString: strerror(errno)); systemClose(fd); continue }
            var fds = [pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)]
            let remaining = deadline - now()
            let ready = remaining > 0 ? poll(&fds, 1, Int32(remaining * 1000) + 1) : 0
            if ready == 0 { systemClose(fd); throw .timeout }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == 0 { return fd }
            lastError = String(cString: strerror(error))
            systemClose(fd)
        }
        throw .connection("cannot connect to \(endpoint.host):\(endpoint.port): \(lastError)")
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8], deadline: Double) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let remaining = deadline - now()
            guard remaining > 0 else { throw .timeout }
            var fds = [pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)]
            if poll(&fds, 1, Int32(remaining * 1000) + 1) == 0 { throw .timeout }
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, sendFlags) }
            if n > 0 { offset += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            throw .connection("sending the request: \(String(cString: strerror(errno)))")
        }
    }

    private static func receive(_ fd: Int32, deadline: Double) throws(Failure) -> Response {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var header: (status: Int, bodyStart: Int, length: Int?, chunked: Bool)?
        while true {
            if header == nil, let end = find([13, 10, 13, 10], in: data) {
                header = try parseHead(Array(data[..<end]), bodyStart: end + 4)
            }
            if let h = header {
                let body = Array(data[h.bodyStart...])
                if let length = h.length, body.count >= length { return Response(status: h.status, body: Array(body.prefix(length))) }
                if h.chunked, let decoded = try dechunk(body) { return Response(status: h.status, body: decoded) }
            }
            let remaining = deadline - now()
            guard remaining > 0 else { throw .timeout }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 1, Int32(remaining * 1000) + 1) == 0 { throw .timeout }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { data += chunk[0..<n]; continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            if n < 0 { throw .connection("reading the answer: \(String(cString: strerror(errno)))") }
            // End of stream.
            guard let h = header else {
                throw data.isEmpty ? .connection("the server closed the connection without answering")
                                   : .truncated("the answer ended inside its headers (\(data.count) bytes)")
            }
            let body = Array(data[h.bodyStart...])
            if let length = h.length { throw .truncated("short body: \(body.count) of \(length) bytes (Content-Length) before the connection closed") }
            if h.chunked { throw .truncated("the chunked body ended before its last chunk") }
            return Response(status: h.status, body: body)
        }
    }

    private static func parseHead(_ head: [UInt8], bodyStart: Int) throws(Failure) -> (status: Int, bodyStart: Int, length: Int?, chunked: Bool) {
        let lines = String(decoding: head, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.first.map(String.init) ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw .malformed("not an HTTP/1.x status line: '\(statusLine.prefix(80))'")
        }
        var length: Int?, chunked = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" {
                guard let n = Int(value), n >= 0 else { throw .malformed("bad Content-Length '\(value)'") }
                length = n
            } else if name == "transfer-encoding", value.lowercased().contains("chunked") {
                chunked = true
            }
        }
        return (status, bodyStart, chunked ? nil : length, chunked)
    }

    /// The decoded body when all chunks (through the zero-length one) are in `body`, else nil.
    private static func dechunk(_ body: [UInt8]) throws(Failure) -> [UInt8]? {
        var out: [UInt8] = [], i = 0
        while true {
            guard let lineEnd = find([13, 10], in: body, from: i) else { return nil }
            let sizeText = String(decoding: body[i..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw .malformed("bad chunk size '\(sizeText.prefix(20))'")
            }
            let start = lineEnd + 2
            if size == 0 { return out }
            guard start + size + 2 <= body.count else { return nil }
            out += body[start..<(start + size)]
            i = start + size + 2
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard haystack.count >= needle.count + start else { return nil }
        var i = start
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
