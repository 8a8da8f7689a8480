/// Parquet's RLE / bit-packed hybrid encoding (levels and dictionary indices): runs of one repeated
/// value, or groups of 8 values packed LSB first at `bitWidth` bits.
enum RLEHybrid {
    /// Decodes `count` values of `bitWidth` bits, each checked to be at most `maxValue`.
    static func decode(_ cursor: inout ByteCursor, count: Int, bitWidth: Int, maxValue: UInt32, into out: inout [UInt32],
                       what: String) throws {
        guard bitWidth >= 0, bitWidth <= 32 else { throw ColumnarError("corrupt Parquet file: \(what) have a bit width of \(bitWidth)") }
        let tooLarge = ColumnarError("corrupt Parquet file: \(what) hold a value out of range")
        out.reserveCapacity(out.count + count)
        var left = count
        let valueBytes = (bitWidth + 7) / 8
        while left > 0 {
            let header = try cursor.varint()
            if header & 1 == 0 {
                let run = header >> 1
                guard run > 0 else { throw ColumnarError("corrupt Parquet file: \(what) hold an empty run") }
                var value: UInt32 = 0
                for i in 0..<valueBytes { value |= UInt32(try cursor.byte()) << (8 * i) }
                guard value <= maxValue else { throw tooLarge }
                let n = Int(min(run, UInt64(left)))
                out.append(contentsOf: repeatElement(value, count: n))
                left -= n
            } else {
                let groups = header >> 1
                guard groups <= UInt64(cursor.remaining) else { throw ColumnarError(cursor.truncated) }
                let bytes = try cursor.slice(Int(groups) * bitWidth)
                let n = min(Int(groups) * 8, left)
                let mask: UInt64 = bitWidth == 32 ? 0xFFFF_FFFF : (1 << UInt64(bitWidth)) - 1
                var bit = 0
                for _ in 0..<n {
                    var v: UInt64 = 0
                    var got = 0
                    while got < bitWidth {
                        let byte = UInt64(bytes[(bit + got) >> 3])
                        let shift = (bit + got) & 7
                        v |= (byte >> UInt64(shift)) << UInt64(got)
                        got += 8 - shift
                    }
                    let value = UInt32(v & mask)
                    guard value <= maxValue else { throw tooLarge }
                    out.append(value)
                    bit += bitWidth
                }
                left -= n
            }
        }
    }

    static func bitWidth(_ maxValue: Int) -> Int {
        maxValue == 0 ? 0 : Int.bitWidth - maxValue.leadingZeroBitCount
    }
}
