import Foundation

/// The text measures of the rule scorers. Text is compared as tokens: each CJK character (Han,
/// kana, Hangul) is a token of its own, other letters and digits form word tokens split at
/// whitespace, and every other symbol is a one-character token. So Chinese is compared at character
/// level and English at word level, in the same string.
public enum TextOverlap {
    /// NFKC (full-width forms become ASCII, e.g. "，" → ","), lower case, punctuation and symbols
    /// removed, whitespace runs collapsed to one space and trimmed.
    public static func normalize(_ text: String) -> String {
        let folded = text.precomposedStringWithCompatibilityMapping.lowercased()
        var out = "", space = false
        for scalar in folded.unicodeScalars {
            let p = scalar.properties
            if p.isWhitespace { space = !out.isEmpty; continue }
            if isPunctuationOrSymbol(scalar) { continue }
            if space { out.unicodeScalars.append(" "); space = false }
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    /// The tokens of `text` (see the type's doc).
    public static func tokens(_ text: String) -> [String] {
        var out: [String] = [], word = ""
        func flush() { if !word.isEmpty { out.append(word); word = "" } }
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace { flush(); continue }
            if isCJK(scalar) || isPunctuationOrSymbol(scalar) {
                flush()
                out.append(String(scalar))
            } else {
                word.unicodeScalars.append(scalar)
            }
        }
        flush()
        return out
    }

    /// SQuAD-style F1 of the multiset overlap of two token lists (0 when either is empty, unless both are).
    public static func f1(_ candidate: [String], _ reference: [String]) -> Double {
        if candidate.isEmpty || reference.isEmpty { return candidate.isEmpty && reference.isEmpty ? 1 : 0 }
        var counts: [String: Int] = [:]
        for t in reference { counts[t, default: 0] += 1 }
        var common = 0
        for t in candidate where (counts[t] ?? 0) > 0 { common += 1; counts[t]! -= 1 }
        guard common > 0 else { return 0 }
        let precision = Double(common) / Double(candidate.count), recall = Double(common) / Double(reference.count)
        return 2 * precision * recall / (precision + recall)
    }

    /// ROUGE-L F1: precision and recall of the longest common subsequence, combined with β = 1 (as the
    /// `rouge-score` package reports `fmeasure`).
    public static func rougeL(_ candidate: [String], _ reference: [String]) -> Double {
        if candidate.isEmpty || reference.isEmpty { return candidate.isEmpty && reference.isEmpty ? 1 : 0 }
        let lcs = longestCommonSubsequence(candidate, reference)
        guard lcs > 0 else { return 0 }
        let precision = Double(lcs) / Double(candidate.count), recall = Double(lcs) / Double(reference.count)
        return 2 * precision * recall / (precision + recall)
    }

    /// Length of the longest common subsequence (one rolling row of the dynamic programme).
    public static func longestCommonSubsequence(_ a: [String], _ b: [String]) -> Int {
        var previous = [Int](repeating: 0, count: b.count + 1), current = previous
        for x in a {
            for (j, y) in b.enumerated() {
                current[j + 1] = x == y ? previous[j] + 1 : max(previous[j + 1], current[j])
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// Fraction of the n-grams of `tokens` that repeat an earlier one: 0 for all-distinct text,
    /// approaching 1 for one token over and over; 0 when there are fewer than n tokens.
    public static func repetition(_ tokens: [String], n: Int) -> Double {
        guard n >= 1, tokens.count >= n else { return 0 }
        var seen: Set<[String]> = []
        let total = tokens.count - n + 1
        for i in 0..<total { seen.insert(Array(tokens[i..<(i + n)])) }
        return 1 - Double(seen.count) / Double(total)
    }

    static func isCJK(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF, 0xF900...0xFAFF, 0x20000...0x3134F: return true
        default: return false
        }
    }

    static func isPunctuationOrSymbol(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation, .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }
}
