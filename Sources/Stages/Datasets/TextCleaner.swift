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
        text.unicodeScalars.allSatisfy { Self.isAlwaysNFC($0.value) } ? text : text.precomposedStringWithCanonicalMapping
    }

    /// `TextNormalizer.normalize`: NFC; control and format characters removed; every whitespace run
    /// one ASCII space; trimmed.
    func collapse(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in composed(text).unicodeScalars {
            switch scalarClass(scalar) {
            case .whitespace: pendingSpace = !out.isEmpty
            case .drop, .unknown: continue
            case .keep:
                if pendingSpace { out.append(" "); pendingSpace = false }
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// For texts whose line breaks matter (code, lists, dialogue): NFC; CRLF → LF; control and
    /// format characters removed (tab and newline kept); trailing whitespace of each line, blank
    /// lines at both ends and the first line's indentation trimmed.
    func keepLines(_ text: String) -> String {
        var lines: [String.UnicodeScalarView] = []
        var line = String.UnicodeScalarView()
        var trailing = 0  // whitespace scalars at the end of `line`
        func endLine() {
            line.removeLast(trailing)
            lines.append(line)
            line = String.UnicodeScalarView()
            trailing = 0
        }
        for scalar in composed(text).unicodeScalars {
            if scalar == "\n" { endLine(); continue }
            if scalar == "\t" { line.append(scalar); trailing += 1; continue }
            switch scalarClass(scalar) {
            case .whitespace:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) { continue }  // \r, \v, \f, NEL
                line.append(scalar); trailing += 1
            case .drop, .unknown: continue
            case .keep: line.append(scalar); trailing = 0
            }
        }
        endLine()
        var first = 0, last = lines.count
        while first < last, lines[first].isEmpty { first += 1 }
        while last > first, lines[last - 1].isEmpty { last -= 1 }
        guard first < last else { return "" }
        var head = lines[first]
        while let c = head.first, scalarClass(c) == .whitespace || c == "\t" { head.removeFirst() }
        var result = String.UnicodeScalarView(head)
        for i in (first + 1)..<last {
            result.append("\n")
            result.append(contentsOf: lines[i])
        }
        return String(result)
    }
}
