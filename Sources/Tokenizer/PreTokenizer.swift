/// GPT-2's pre-tokenisation: text is split into pieces before BPE, and merges never cross pieces.
///
/// The pattern is GPT-2's (and the Hugging Face `ByteLevel` pre-tokenizer's, `use_regex: true`):
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, written out by hand
/// over Unicode scalar properties so no regex engine is needed and the split is identical to the one a
/// `transformers` user gets from the exported `tokenizer.json`.
///
/// Chinese: Han characters are letters (`\p{L}`), so a run of Chinese between punctuation marks is one
/// piece, and BPE learns multi-character words inside it (Chinese has no spaces to split words).
/// Full-width punctuation (，。！) is `[^\s\p{L}\p{N}]`, so sentences split at it. No CJK-specific rule
/// is added: any extra split would have to be reproduced by every loader of `tokenizer.json`.
///
/// The split runs over UTF-8 bytes with each BMP scalar's class read from a table built once: Unicode
/// property lookups cost about half a microsecond a scalar, which dominated BPE training and encoding.
public enum PreTokenizer {
    enum Class: UInt8 { case letter, number, space, other }

    /// Letters and numbers of a Unicode version newer than the tables of `tokenizers`' regex engine
    /// (Oniguruma), which matches them as neither `\p{L}`, `\p{N}` nor `\s`: GPT-2's pattern there puts
    /// them with punctuation. Every code point was compared with tokenizers 0.23.3 (Swift 6.3's Unicode 17
    /// tables differ only here; `regex_classes.py` lists the package's classes).
    static let newerThanTokenizers: [ClosedRange<UInt32>] = [
        0x88F...0x88F, 0xC5C...0xC5C, 0xCDC...0xCDC, 0xA7CE...0xA7CF, 0xA7D2...0xA7D2, 0xA7D4...0xA7D4, 0xA7F1...0xA7F1,
        0x10940...0x10959, 0x10EC5...0x10EC7, 0x11DB0...0x11DDB, 0x11DE0...0x11DE9, 0x16EA0...0x16EB8, 0x16EBB...0x16ED3,
        0x16FF2...0x16FF6, 0x187F8...0x187FF, 0x18D09...0x18D1E, 0x18D80...0x18DF2, 0x1E6C0...0x1E6DE, 0x1E6E0...0x1E6E2,
        0x1E6E4...0x1E6E5, 0x1E6E7...0x1E6ED, 0x1E6F0...0x1E6F4, 0x1E6FE...0x1E6FF, 0x2B73A...0x2B73F, 0x2CEA2...0x2CEAD,
        0x323B0...0x33479,
    ]

    static func classify(_ s: Unicode.Scalar) -> Class {
        if s.value >= 0x88F, newerThanTokenizers.contains(where: { $0.contains(s.value) }) { return .other }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return s.properties.isWhitespace ? .space : .other
        }
    }

    /// The class of every BMP scalar (surrogate code points, never in a String, are `other`).
    private static let bmpClasses: [Class] = (0..<0x10000).map { v in
        Unicode.Scalar(UInt32(v)).map(classify) ?? .other
    }

    static func classify(value: UInt32) -> Class {
        if value < 0x10000 { return bmpClasses[Int(value)] }
        return Unicode.Scalar(value).map(classify) ?? .other
    }

    /// The pieces of `text`, in order; their concatenation is `text`.
    public static func split(_ text: String) -> [Substring] {
        var bounds: [(start: Int, end: Int)] = []
        var utf8Text = text
        utf8Text.withUTF8 { bytes in forEachPiece(bytes) { bounds.append(($0, $1)) } }
        let utf8 = text.utf8
        return bounds.map { start, end in
            let lower = utf8.index(utf8.startIndex, offsetBy: start), upper = utf8.index(utf8.startIndex, offsetBy: end)
            return Substring(text.unicodeScalars[lower..<upper])
        }
    }

    /// Calls `body(start, end)` with the byte range of each piece of the valid UTF-8 `bytes`, in order.
    public static func forEachPiece(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (_ start: Int, _ end: Int) -> Void) {
        // Scalar i starts at byte offsets[i] (offsets[n] = bytes.count); ASCII values are kept for the
        // apostrophe and space rules, anything else is stored as 0x80.
        var offsets: [Int32] = []
        var classes: [Class] = []
        var ascii: [UInt8] = []
        offsets.reserveCapacity(bytes.count + 1)
        classes.reserveCapacity(bytes.count)
        ascii.reserveCapacity(bytes.count)
        var b = 0
        while b < bytes.count {
            let lead = UInt32(bytes[b])
            offsets.append(Int32(b))
            if lead < 0x80 {
                classes.append(asciiClasses[Int(lead)])
                ascii.append(UInt8(lead))
                b += 1
                continue
            }
            let length = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            var value = lead & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
            for k in 1..<length where b + k < bytes.count { value = value << 6 | UInt32(bytes[b + k] & 0x3F) }
            classes.append(classify(value: value))
            ascii.append(0x80)
            b += length
        }
        offsets.append(Int32(bytes.count))
        let n = classes.count
        let quote = UInt8(ascii: "'"), space = UInt8(ascii: " ")
        func apostropheSuffix(_ i: Int) -> Int {
            guard ascii[i] == quote, i + 1 < n else { return 0 }
            let c1 = ascii[i + 1]
            if c1 == UInt8(ascii: "s") || c1 == UInt8(ascii: "t") || c1 == UInt8(ascii: "m") || c1 == UInt8(ascii: "d") { return 2 }
            guard i + 2 < n else { return 0 }
            let c2 = ascii[i + 2]
            if (c1 == UInt8(ascii: "r") && c2 == UInt8(ascii: "e")) || (c1 == UInt8(ascii: "v") && c2 == UInt8(ascii: "e"))
                || (c1 == UInt8(ascii: "l") && c2 == UInt8(ascii: "l")) { return 3 }
            return 0
        }
        var i = 0
        while i < n {
            var end = i
            let suffix = apostropheSuffix(i)
            if suffix > 0 {
                end = i + suffix
            } else {
                // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional single space, then a run of one class.
                let hasSpace = ascii[i] == space && i + 1 < n && classes[i + 1] != .space
                let start = hasSpace ? i + 1 : i
                let cls = classes[start]
                if cls != .space {
                    end = start + 1
                    while end < n && classes[end] == cls { end += 1 }
                } else {
                    // `\s+(?!\S)|\s+`: a whitespace run, leaving its last character to the next piece
                    // when a non-space follows (so " word" keeps its space).
                    var runEnd = i + 1
                    while runEnd < n && classes[runEnd] == .space { runEnd += 1 }
                    end = (runEnd < n && runEnd - i > 1) ? runEnd - 1 : runEnd
                }
            }
            body(Int(offsets[i]), Int(offsets[end]))
            i = end
        }
    }

    private static let asciiClasses: [Class] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }
}
