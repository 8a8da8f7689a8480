/// A token matched in the text before the model sees it (the `added_tokens` of `tokenizer.json`):
/// [CLS], [SEP], <|endoftext|> and the like.
public struct AddedToken: Sendable, Equatable {
    public var id: Int32
    public var content: String
    /// Special tokens are dropped by `decode(skipSpecial: true)` and ignored by `encode(allowSpecial: false)`.
    public var special: Bool
    /// Match only where no word character touches the token.
    public var singleWord: Bool
    /// Swallow the whitespace before (lstrip) / after (rstrip) the token.
    public var lstrip: Bool
    public var rstrip: Bool
    /// Match in the normalised text (true) or in the raw text (false, the default for special tokens).
    public var normalized: Bool

    public init(id: Int32, content: String, special: Bool, singleWord: Bool = false, lstrip: Bool = false,
                rstrip: Bool = false, normalized: Bool? = nil) {
        self.id = id
        self.content = content
        self.special = special
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized ?? !special
    }
}

/// Leftmost-longest matching of a set of added tokens in a scalar sequence, with the `single_word`,
/// `lstrip` and `rstrip` rules of `tokenizers`.
struct AddedTokenMatcher: Sendable {
    struct Pattern: Sendable {
        let scalars: [UInt32]
        let token: AddedToken
    }
    /// Patterns by first scalar, longest first.
    private let byFirst: [UInt32: [Pattern]]
    var isEmpty: Bool { byFirst.isEmpty }

    /// `patterns`: (scalars to look for, token). Empty patterns never match.
    init(_ patterns: [(scalars: [UInt32], token: AddedToken)]) {
        var byFirst: [UInt32: [Pattern]] = [:]
        for p in patterns where !p.scalars.isEmpty {
            byFirst[p.scalars[0], default: []].append(Pattern(scalars: p.scalars, token: p.token))
        }
        for key in byFirst.keys {
            byFirst[key]?.sort { $0.scalars.count != $1.scalars.count ? $0.scalars.count > $1.scalars.count : $0.token.id < $1.token.id }
        }
        self.byFirst = byFirst
    }

    enum Piece: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    /// Splits `text[range]` into plain-text ranges and matched tokens (skipping special tokens unless
    /// `allowSpecial`). Plain ranges may be empty only when the whole input is.
    func split(_ text: [UInt32], _ range: Range<Int>, allowSpecial: Bool, into pieces: inout [Piece]) {
        guard !byFirst.isEmpty else { pieces.append(.text(range)); return }
        var plainStart = range.lowerBound
        var i = range.lowerBound
        while i < range.upperBound {
            // Leftmost-longest, then the token's own conditions; a rejected match is plain text and the
            // search resumes after it (as the Aho-Corasick iteration of `tokenizers` does).
            guard let candidates = byFirst[text[i]],
                  let match = candidates.first(where: { p in
                      i + p.scalars.count <= range.upperBound && text[i..<(i + p.scalars.count)].elementsEqual(p.scalars)
                  })
            else { i += 1; continue }
            if (match.token.special && !allowSpecial)
                || (match.token.singleWord && !isSingleWord(text, range, i, i + match.scalars.count)) {
                i += match.scalars.count
                continue
            }
            var start = i, end = i + match.scalars.count
            if match.token.lstrip {
                while start > plainStart && Self.isSpace(text[start - 1]) { start -= 1 }
            }
            if match.token.rstrip {
                while end < range.upperBound && Self.isSpace(text[end]) { end += 1 }
            }
            if plainStart < start { pieces.append(.text(plainStart..<start)) }
            pieces.append(.token(match.token.id))
            plainStart = end
            i = end
        }
        if plainStart < range.upperBound { pieces.append(.text(plainStart..<range.upperBound)) }
    }

    private func isSingleWord(_ text: [UInt32], _ range: Range<Int>, _ start: Int, _ end: Int) -> Bool {
        (start == range.lowerBound || !Self.isWordCharacter(text[start - 1]))
            && (end == range.upperBound || !Self.isWordCharacter(text[end]))
    }

    /// Regex `\s` (Unicode White_Space).
    static func isSpace(_ c: UInt32) -> Bool { Unicode.Scalar(c)?.properties.isWhitespace ?? false }

    /// Regex `\w` (Unicode): alphabetic, marks, decimal digits, connector punctuation, joiners.
    static func isWordCharacter(_ c: UInt32) -> Bool {
        guard let s = Unicode.Scalar(c) else { return false }
        let p = s.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }
}
