/// Snappy block decompression (the format Parquet's SNAPPY codec stores: a varint length, then
/// literals and back-references). Every length and offset is checked against the output written so
/// far and the declared size.
enum Snappy {
    /// The largest output one input byte can yield (a 3-byte copy of 64 bytes), to bound allocations.
    static let maxExpansion = 22

    static func decompress(_ input: UnsafeRawBufferPointer, expected: Int) throws -> [UInt8] {
        let bad = ColumnarError("corrupt Snappy data")
        var c = ByteCursor(input, truncated: "corrupt Snappy data (it ends early)")
        let declared = try c.varint()
        guard declared == UInt64(expected) else {
            throw ColumnarError("corrupt Snappy data (it holds \(declared) bytes, the page header says \(expected))")
        }
        guard expected <= input.count * maxExpansion + 64 else { throw bad }
        var out = [UInt8](repeating: 0, count: expected)
        var o = 0
        try out.withUnsafeMutableBufferPointer { dst in
            while c.remaining > 0 {
                let tag = try c.byte()
                var length = 0, offset = 0
                switch tag & 3 {
                case 0:
                    length = Int(tag >> 2)
                    if length >= 60 {
                        let extra = length - 59
                        length = 0
                        for i in 0..<extra { length |= Int(try c.byte()) << (8 * i) }
                    }
                    length += 1
                    let literal = try c.slice(length)
                    guard length <= expected - o else { throw bad }
                    UnsafeMutableRawBufferPointer(start: dst.baseAddress! + o, count: length).copyMemory(from: literal)
                    o += length
                    continue
                case 1:
                    length = 4 + Int((tag >> 2) & 7)
                    offset = Int(tag >> 5) << 8 | Int(try c.byte())
                case 2:
                    length = 1 + Int(tag >> 2)
                    offset = Int(try c.byte()) | Int(try c.byte()) << 8
                default:
                    length = 1 + Int(tag >> 2)
                    offset = Int(try c.uint32())
                }
                guard offset > 0, offset <= o, length <= expected - o else { throw bad }
                // Byte by byte: a copy may overlap its own output (offset < length repeats a pattern).
                for i in 0..<length { dst[o + i] = dst[o - offset + i] }
                o += length
            }
        }
        guard o == expected else { throw ColumnarError("corrupt Snappy data (it holds \(o) bytes, the page header says \(expected))") }
        return out
    }
}
