/// Bounds-checked little-endian reads over a byte range: every read past the end throws `truncated`
/// (the message the caller gives for this range) instead of trapping.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    let end: Int
    let truncated: String

    init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, to end: Int? = nil, truncated: String) {
        self.bytes = bytes
        self.position = start
        self.end = min(end ?? bytes.count, bytes.count)
        self.truncated = truncated
    }

    var remaining: Int { end - position }

    mutating func need(_ count: Int) throws {
        guard count >= 0, count <= end - position else { throw ColumnarError(truncated) }
    }

    mutating func byte() throws -> UInt8 {
        try need(1)
        defer { position += 1 }
        return bytes[position]
    }

    mutating func uint32() throws -> UInt32 {
        try need(4)
        defer { position += 4 }
        return bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian
    }

    mutating func uint64() throws -> UInt64 {
        try need(8)
        defer { position += 8 }
        return bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self).littleEndian
    }

    /// The next `count` bytes as a sub-buffer (no copy).
    mutating func slice(_ count: Int) throws -> UnsafeRawBufferPointer {
        try need(count)
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }

    /// An unsigned LEB128 varint (at most 10 bytes).
    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            if shift == 63 && b > 1 { throw ColumnarError(truncated) }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw ColumnarError(truncated) }
        }
    }
}
