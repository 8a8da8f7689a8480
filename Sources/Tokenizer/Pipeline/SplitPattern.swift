/// What a `Split` pre-tokenizer (or `Replace`) looks for: a literal string, or a regex pipe reproduces
/// exactly. `tokenizers` runs regexes with Oniguruma, whose Unicode classes no Swift regex engine is
/// guaranteed to share, so only GPT-2's pattern is accepted (matched by the hand-written `PreTokenizer`).
enum SplitPattern: Sendable, Equatable {
    case literal([UInt32])
    case gpt2

    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let knownRegexes: [String: SplitPattern] = [gpt2Regex: .gpt2]

    /// `find_matches` of `tokenizers`: the text cut into matches (true) and the stretches between them (false).
    func matches(_ text: [UInt32]) -> [(range: Range<Int>, isMatch: Bool)] {
        if text.isEmpty { return [(0..<0, false)] }
        var out: [(range: Range<Int>, isMatch: Bool)] = []
        switch self {
        case let .literal(pattern):
            var previous = 0, i = 0
            while !pattern.isEmpty && i + pattern.count <= text.count {
                if text[i..<(i + pattern.count)].elementsEqual(pattern) {
                    if previous < i { out.append((previous..<i, false)) }
                    out.append((i..<(i + pattern.count), true))
                    i += pattern.count
                    previous = i
                } else {
                    i += 1
                }
            }
            if previous < text.count { out.append((previous..<text.count, false)) }
        case .gpt2:
            var start = 0
            for piece in PreTokenizer.split(stringOfScalars(text)) {
                let n = piece.unicodeScalars.count
                out.append((start..<(start + n), true))
                start += n
            }
        }
        return out
    }
}

/// `SplitDelimiterBehavior` of `tokenizers`: what becomes of the matches when a piece is split.
enum SplitBehavior: String, Sendable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    /// `NormalizedString::split`: the ranges of the new pieces (empty ones are dropped by the caller).
    func apply(_ matches: [(range: Range<Int>, isMatch: Bool)]) -> [Range<Int>] {
        switch self {
        case .isolated: return matches.map(\.range)
        case .removed: return matches.filter { !$0.isMatch }.map(\.range)
        case .contiguous:
            var out: [Range<Int>] = []
            var previous = false
            for m in matches {
                if m.isMatch == previous, let last = out.last { out[out.count - 1] = last.lowerBound..<m.range.upperBound } else { out.append(m.range) }
                previous = m.isMatch
            }
            return out
        case .mergedWithPrevious:
            var out: [Range<Int>] = []
            var previous = false
            for m in matches {
                if m.isMatch && !previous, let last = out.last { out[out.count - 1] = last.lowerBound..<m.range.upperBound } else { out.append(m.range) }
                previous = m.isMatch
            }
            return out
        case .mergedWithNext:
            var out: [Range<Int>] = []
            var previous = false
            for m in matches.reversed() {
                if m.isMatch && !previous, let last = out.last { out[out.count - 1] = m.range.lowerBound..<last.upperBound } else { out.append(m.range) }
                previous = m.isMatch
            }
            return out.reversed()
        }
    }
}

/// `find_matches` for a character predicate: every matching character is a match of its own.
func characterMatches(_ text: [UInt32], _ predicate: (UInt32) -> Bool) -> [(range: Range<Int>, isMatch: Bool)] {
    if text.isEmpty { return [(0..<0, false)] }
    var out: [(range: Range<Int>, isMatch: Bool)] = []
    var last = 0
    for (i, c) in text.enumerated() where predicate(c) {
        if last < i { out.append((last..<i, false)) }
        out.append((i..<(i + 1), true))
        last = i + 1
    }
    if last < text.count { out.append((last..<text.count, false)) }
    return out
}
