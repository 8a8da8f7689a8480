#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file line by line in fixed-size chunks (memory: one chunk plus the longest line), so a
/// dataset file of any size streams. Lines end at `\n`; a `\r` before it is dropped.
public final class LineReader {
    public let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: [UInt8]
    private var start = 0, end = 0
    private var atEOF = false
    /// Bytes consumed before `buffer[start]`.
    private var consumed = 0
    /// The 1-based number of the line last returned.
    public private(set) var lineNumber = 0
    /// Byte offset of the first byte of the line last returned.
    public private(set) var lineOffset = 0

    public init(path: String, chunkSize: Int = 1 << 20) throws {
        guard let file = fopen(path, "rb") else {
            throw StageError.failed("\(path): cannot open (\(String(cString: strerror(errno))))")
        }
        self.path = path
        self.file = file
        self.buffer = [UInt8](repeating: 0, count: max(chunkSize, 16))
    }

    deinit { fclose(file) }

    /// The next line without its terminator (nil at the end of the file); `body` sees the bytes only
    /// during the call.
    public func nextLine<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T? {
        while true {
            if let newline = buffer[start..<end].firstIndex(of: 0x0A) {
                let lineStart = start
                var lineEnd = newline
                if lineEnd > lineStart, buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                lineNumber += 1
                lineOffset = consumed
                consumed += newline + 1 - start
                start = newline + 1
                return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[lineStart..<lineEnd])) }
            }
            if atEOF {
                guard start < end else { return nil }
                let lineStart = start
                var lineEnd = end
                if buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                lineNumber += 1
                lineOffset = consumed
                consumed += end - start
                start = end
                return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[lineStart..<lineEnd])) }
            }
            try fill()
        }
    }

    /// Moves the unread bytes to the front (growing the buffer for a line longer than it) and reads more.
    private func fill() throws {
        if start > 0 {
            let remaining = end - start
            if remaining > 0 { buffer.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: $0.baseAddress! + start, count: remaining) } }
            start = 0
            end = remaining
        }
        if end == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
        let wanted = buffer.count - end
        let n = buffer.withUnsafeMutableBufferPointer { fread($0.baseAddress! + end, 1, wanted, file) }
        end += n
        if n < wanted {
            if ferror(file) != 0 { throw StageError.failed("\(path): read error (\(String(cString: strerror(errno))))") }
            atEOF = true
        }
    }
}
