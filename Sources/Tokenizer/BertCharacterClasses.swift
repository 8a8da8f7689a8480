/// Per-code-point flags and mappings for BERT's normalizer and pre-tokenizer, parsed once from
/// `BertUnicodeTables` (which record what the `tokenizers` package does, not Swift's Unicode version).
struct BertCharacterClasses: Sendable {
    static let removed: UInt8 = 1        // deleted by clean_text
    static let cleanSpace: UInt8 = 2     // becomes " " under clean_text
    static let splitSpace: UInt8 = 4     // pre-tokenizer splits here and drops it
    static let punctuation: UInt8 = 8    // pre-tokenizer isolates it
    static let nonspacing: UInt8 = 16    // dropped when accents are stripped
    static let decomposes: UInt8 = 32    // has an NFD decomposition
    static let lowercases: UInt8 = 64    // changes under lower-casing
    static let chinese: UInt8 = 128      // CJK ideograph: surrounded by spaces by handle_chinese_chars

    static let shared = BertCharacterClasses()

    /// Flags of every code point 0...0x10FFFF (1.1 MB, built once per process).
    let flags: [UInt8]
    let decompositions: [UInt32: [UInt32]]
    let lowercase: [UInt32: [UInt32]]

    /// The CJK ranges of `tokenizers`' BERT normalizer (`is_chinese_char`).
    static let chineseRanges: [ClosedRange<UInt32>] = [
        0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
        0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F,
    ]

    init() {
        var flags = [UInt8](repeating: 0, count: 0x110000)
        func mark(_ table: String, _ flag: UInt8) {
            for (first, last) in Self.parseRanges(table) {
                for c in first...last { flags[Int(c)] |= flag }
            }
        }
        mark(BertUnicodeTables.removedByCleanText, Self.removed)
        mark(BertUnicodeTables.whitespaceForCleanText, Self.cleanSpace)
        mark(BertUnicodeTables.whitespaceForSplit, Self.splitSpace)
        mark(BertUnicodeTables.punctuation, Self.punctuation)
        mark(BertUnicodeTables.nonspacingMarks, Self.nonspacing)
        for r in Self.chineseRanges { for c in r { flags[Int(c)] |= Self.chinese } }
        var decompositions = Self.parseMapping(BertUnicodeTables.decompositions)
        for s in UInt32(0xAC00)...0xD7A3 { decompositions[s] = Self.hangulDecomposition(s) }
        for c in decompositions.keys { flags[Int(c)] |= Self.decomposes }
        let lowercase = Self.parseMapping(BertUnicodeTables.lowercase)
        for c in lowercase.keys { flags[Int(c)] |= Self.lowercases }
        self.flags = flags
        self.decompositions = decompositions
        self.lowercase = lowercase
    }

    /// Unicode's algorithmic decomposition of a precomposed Hangul syllable into its jamo.
    static func hangulDecomposition(_ s: UInt32) -> [UInt32] {
        let index = s - 0xAC00
        let lead = 0x1100 + index / 588, vowel = 0x1161 + (index % 588) / 28, trail = 0x11A7 + index % 28
        return trail == 0x11A7 ? [lead, vowel] : [lead, vowel, trail]
    }

    /// `A-B C` (hex) → [(A, B), (C, C)]. The tables are generated, so a malformed entry is a build bug.
    static func parseRanges(_ text: String) -> [(UInt32, UInt32)] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { item in
            let parts = item.split(separator: "-")
            guard let first = UInt32(parts[0], radix: 16) else { return nil }
            let last = parts.count > 1 ? UInt32(parts[1], radix: 16) ?? first : first
            return (first, last)
        }
    }

    /// `A:B,C D:E` (hex) → [A: [B, C], D: [E]].
    static func parseMapping(_ text: String) -> [UInt32: [UInt32]] {
        var map: [UInt32: [UInt32]] = [:]
        for item in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = item.split(separator: ":")
            guard parts.count == 2, let key = UInt32(parts[0], radix: 16) else { continue }
            map[key] = parts[1].split(separator: ",").compactMap { UInt32($0, radix: 16) }
        }
        return map
    }

    @inline(__always) func flag(_ c: UInt32) -> UInt8 { c < 0x110000 ? flags[Int(c)] : 0 }
}
