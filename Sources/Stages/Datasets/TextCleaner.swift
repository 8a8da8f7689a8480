import Foundation

/// The text normalisation of an import, fast: `collapse` gives exactly `TextNormalizer.normalize`,
/// `keepLines` the line-preserving variant. Unicode property lookups are slow (about 0.5 µs a
/// scalar), so each BMP scalar's class is looked up once and kept in a table, and Foundation's NFC
/// runs only for strings holding a scalar outside the blocks that are always in NFC.
final class TextCleaner {
    private enum ScalarClass: UInt8 { case unknown = 0, keep, drop, whitespace }
    private var classes = [UInt8](repeating: 0, count: 0x10000)

    private func scalarClass(_ scalar: Unicode.Scalar) -> ScalarClass {
        let v = Int(scalar.value)
        if v < 0x10000, let known = ScalarClass(rawValue: classes[v]), known != .unknown { return known }
        let found: ScalarClass
        if scalar.properties.isWhitespace {
            found = .whitespace
        } else {
            switch scalar.properties.generalCategory {
            case .control, .format, .surrogate, .unassigned: found = .drop
            default: found = .keep
            }
        }
        if v < 0x10000 { classes[v] = found.rawValue }
        return found
    }

    /// Scalars that are NFC in any context: no canonical decomposition, combining class 0, and never
    /// the second half of a canonical composition (checked against the Unicode NFC_Quick_Check data:
    /// Latin up to the spacing modifiers, general punctuation after U+2001, CJK punctuation, kana
    /// without the combining voiced marks, CJK unified ideographs, Hangul syllables, full-width forms).
    static func isAlwaysNFC(_ v: UInt32) -> Bool {
        switch v {
        case 0x0000...0x02FF, 0x2010...0x206F, 0x3000...0x3029, 0x3030...0x3098, 0x309B...0x30FF,
             0x4E00...0x9FFF, 0xAC00...0xD7A3, 0xFF00...0xFFEF: return true
        default: return false
        }
    }

    /// NFC (canonical composition only, never NFKC).
    func composed(_ text: String) -> String {
        var needsNFC = false
        Self.forEachScalar(text) { value, _, _ in
            if value >= 0x80, !Self.isAlwaysNFC(value) { needsNFC = true }
        }
        return needsNFC ? text.precomposedStringWithCanonicalMapping : text
    }

    /// Calls `body(scalar value, first byte index, byte count)` for each scalar of a string's UTF-8.
    private static func forEachScalar(_ text: String, _ body: (UInt32, Int, Int) -> Void) {
        var text = text
        text.withUTF8 { bytes in
            var i = 0
            while i < bytes.count {
                let b = UInt32(bytes[i])
                let length = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
                var value: UInt32
                switch length {
                case 1: value = b
                case 2: value = (b & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F)
                case 3: value = (b & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F)
                default: value = (b & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6 | UInt32(bytes[i + 3] & 0x3F)
                }
                body(value, i, length)
                i += length
            }
        }
    }

    private func scalarClass(_ value: UInt32) -> ScalarClass {
        if value < 0x10000, let known = ScalarClass(rawValue: classes[Int(value)]), known != .unknown { return known }
        guard let scalar = Unicode.Scalar(value) else { return .drop }
        return scalarClass(scalar)
    }

    /// `TextNormalizer.normalize`: NFC; control and format characters removed; every whitespace run
    /// one ASCII space; trimmed.
    func collapse(_ text: String) -> String {
        let text = composed(text)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        let utf8 = Array(text.utf8)
        Self.forEachScalar(text) { value, start, length in
            switch scalarClass(value) {
            case .whitespace: pendingSpace = !out.isEmpty
            case .drop, .unknown: return
            case .keep:
                if pendingSpace { out.append(0x20); pendingSpace = false }
                out.append(contentsOf: utf8[start..<(start + length)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// For texts whose line breaks matter (code, lists, dialogue): NFC; CRLF → LF; control and
    /// format characters removed (tab and newline kept); trailing whitespace of each line, blank
    /// lines at both ends and the first line's indentation trimmed.
    func keepLines(_ text: String) -> String {
        let text = composed(text)
        let utf8 = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var started = false   // a kept non-whitespace scalar was seen (leading blank lines and indentation skipped)
        var trailing = 0      // bytes of whitespace at the end of the current line
        Self.forEachScalar(text) { value, start, length in
            if value == 0x0A {
                guard started else { return }
                out.removeLast(trailing)
                trailing = 0
                out.append(0x0A)
                return
            }
            let isWhitespace: Bool
            if value == 0x09 {
                isWhitespace = true
            } else {
                switch scalarClass(value) {
                case .whitespace:
                    if value < 0x20 || (0x7F...0x9F).contains(value) { return }  // \r, \v, \f, NEL
                    isWhitespace = true
                case .drop, .unknown: return
                case .keep: isWhitespace = false
                }
            }
            if isWhitespace {
                guard started else { return }
                trailing += length
            } else {
                started = true
                trailing = 0
            }
            out.append(contentsOf: utf8[start..<(start + length)])
        }
        out.removeLast(trailing)
        while out.last == 0x0A { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }
}
