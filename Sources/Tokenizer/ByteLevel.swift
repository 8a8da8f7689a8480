/// GPT-2's reversible map from bytes to printable Unicode characters, so byte-level tokens can be
/// stored as JSON strings: printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100….
/// (Space becomes `Ġ`, newline `Ċ`.)
public enum ByteLevel {
    /// `characters[b]` is the character standing for byte `b`.
    public static let characters: [Character] = {
        var printable = Array(UInt8(ascii: "!")...UInt8(ascii: "~")) + Array(UInt8(0xA1)...UInt8(0xAC))
        printable += Array(UInt8(0xAE)...UInt8(0xFF))
        var table = [Character](repeating: " ", count: 256)
        var isPrintable = [Bool](repeating: false, count: 256)
        for b in printable { table[Int(b)] = Character(Unicode.Scalar(b)); isPrintable[Int(b)] = true }
        var next: UInt32 = 256
        for b in 0..<256 where !isPrintable[b] {
            table[b] = Character(Unicode.Scalar(next)!)
            next += 1
        }
        return table
    }()

    private static let byteOfScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, c) in characters.enumerated() { map[c.unicodeScalars.first!.value] = UInt8(b) }
        return map
    }()

    /// The byte-level string of raw bytes.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var s = ""
        for b in bytes { s.append(characters[Int(b)]) }
        return s
    }

    /// The raw bytes of a byte-level string, or nil if it contains a character outside the map.
    public static func decode(_ string: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(string.unicodeScalars.count)
        for scalar in string.unicodeScalars {
            guard let b = byteOfScalar[scalar.value] else { return nil }
            out.append(b)
        }
        return out
    }
}
