import JSONQuoting

/// The `pre_tokenizer` of a `tokenizer.json` (`tokenizers` 0.23): each step splits every current piece
/// (and ByteLevel/Metaspace also rewrite it); the model then encodes each piece on its own.
indirect enum PipelinePreTokenizer: Sendable {
    case sequence([PipelinePreTokenizer])
    /// `\w+|[^\w\s]+` with Rust-regex Unicode classes; whitespace dropped.
    case whitespace
    case whitespaceSplit
    case punctuation(SplitBehavior)
    case digits(individual: Bool)
    case split(SplitPattern, SplitBehavior, invert: Bool)
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case metaspace(replacement: UInt32, prepend: MetaspacePrepend, split: Bool)
    case bert
    case charDelimiter(UInt32)

    enum MetaspacePrepend: String, Sendable { case first, always, never }

    /// A piece of text; `atStart`: it begins at offset 0 of the original text (Metaspace's "first").
    struct Piece {
        var scalars: [UInt32]
        var atStart: Bool
    }

    init(json value: JSONValue, path: String, reader r: PipelineJSON) throws {
        let type = try r.type(value, path)
        func behavior(default fallback: SplitBehavior? = nil) throws -> SplitBehavior {
            guard let v = value["behavior"], !JSONFields.isNull(v) else {
                if let fallback { return fallback }
                throw r.fail("\(path).behavior must be a string")
            }
            guard let name = v.string, let b = SplitBehavior(rawValue: name) else {
                throw r.fail("\(path).behavior must be one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous; got \(v.quotedForMessage)")
            }
            return b
        }
        switch type {
        case "Sequence":
            self = .sequence(try r.list(value, "pretokenizers", path).enumerated().map {
                try PipelinePreTokenizer(json: $0.element, path: "\(path).pretokenizers[\($0.offset)]", reader: r)
            })
        case "Whitespace": self = .whitespace
        case "WhitespaceSplit": self = .whitespaceSplit
        case "Punctuation": self = .punctuation(try behavior(default: .isolated))
        case "Digits": self = .digits(individual: try r.bool(value, "individual_digits", path, default: false))
        case "Split":
            self = .split(try r.pattern(value, path), try behavior(), invert: try r.bool(value, "invert", path, default: false))
        case "ByteLevel":
            self = .byteLevel(addPrefixSpace: try r.bool(value, "add_prefix_space", path, default: true),
                              useRegex: try r.bool(value, "use_regex", path, default: true))
        case "Metaspace":
            self = .metaspace(replacement: try r.scalar(value, "replacement", path), prepend: try Self.prependScheme(value, path, r),
                              split: try r.bool(value, "split", path, default: true))
        case "BertPreTokenizer": self = .bert
        case "CharDelimiterSplit": self = .charDelimiter(try r.scalar(value, "delimiter", path))
        default:
            throw r.fail("\(path).type \(quoted(type)) is not supported (supported pre-tokenizers: Sequence, Whitespace, WhitespaceSplit, "
                + "Punctuation, Digits, Split, ByteLevel, Metaspace, BertPreTokenizer, CharDelimiterSplit)")
        }
    }

    /// `prepend_scheme` ("first", "always", "never"), or the older `add_prefix_space` (true: always).
    static func prependScheme(_ value: JSONValue, _ path: String, _ r: PipelineJSON) throws -> MetaspacePrepend {
        if let v = value["prepend_scheme"], !JSONFields.isNull(v) {
            guard let s = v.string, let scheme = MetaspacePrepend(rawValue: s) else {
                throw r.fail("\(path).prepend_scheme must be \"first\", \"always\" or \"never\", got \(v.quotedForMessage)")
            }
            return scheme
        }
        return try r.bool(value, "add_prefix_space", path, default: true) ? .always : .never
    }

    func apply(_ pieces: [Piece]) -> [Piece] {
        if case let .sequence(steps) = self { return steps.reduce(pieces) { $1.apply($0) } }
        var out: [Piece] = []
        for piece in pieces { split(piece, into: &out) }
        return out
    }

    /// The pieces of one piece, empty ones dropped (as `PreTokenizedString::split` does).
    private func split(_ piece: Piece, into out: inout [Piece]) {
        func emit(_ text: [UInt32], _ ranges: [Range<Int>], atStart: Bool) {
            for r in ranges where !r.isEmpty { out.append(Piece(scalars: Array(text[r]), atStart: atStart && r.lowerBound == 0)) }
        }
        let text = piece.scalars
        switch self {
        case .sequence: out += apply([piece])
        case .whitespace:
            // Runs of \w, and runs of [^\w\s]; whitespace is dropped.
            var ranges: [Range<Int>] = []
            var i = 0
            while i < text.count {
                let c = text[i]
                if isRustWhitespace(c) { i += 1; continue }
                let word = isRegexWordCharacter(c)
                var end = i + 1
                while end < text.count && !isRustWhitespace(text[end]) && isRegexWordCharacter(text[end]) == word { end += 1 }
                ranges.append(i..<end)
                i = end
            }
            emit(text, ranges, atStart: piece.atStart)
        case .whitespaceSplit: emit(text, SplitBehavior.removed.apply(characterMatches(text, isRustWhitespace)), atStart: piece.atStart)
        case let .punctuation(behavior): emit(text, behavior.apply(characterMatches(text, isPunctuation)), atStart: piece.atStart)
        case let .digits(individual):
            emit(text, (individual ? SplitBehavior.isolated : .contiguous).apply(characterMatches(text, isNumeric)), atStart: piece.atStart)
        case let .split(pattern, behavior, invert):
            var matches = pattern.matches(text)
            if invert { matches = matches.map { ($0.range, !$0.isMatch) } }
            emit(text, behavior.apply(matches), atStart: piece.atStart)
        case let .byteLevel(addPrefixSpace, useRegex):
            var prefixed = text
            if addPrefixSpace && prefixed.first != 0x20 { prefixed.insert(0x20, at: 0) }
            let ranges = useRegex ? SplitPattern.gpt2.matches(prefixed).map(\.range) : [0..<prefixed.count]
            for r in ranges where !r.isEmpty {
                var bytes: [UInt8] = []
                for c in prefixed[r] { WordPieceTokenizer.appendUTF8(c, to: &bytes) }
                out.append(Piece(scalars: bytes.map { ByteLevel.characters[Int($0)].unicodeScalars.first!.value },
                                 atStart: piece.atStart && r.lowerBound == 0))
            }
        case let .metaspace(replacement, prepend, split):
            var replaced = text.map { $0 == 0x20 ? replacement : $0 }
            if replaced.first != replacement && (prepend == .always || (prepend == .first && piece.atStart)) {
                replaced.insert(replacement, at: 0)
            }
            if split {
                emit(replaced, SplitBehavior.mergedWithNext.apply(characterMatches(replaced) { $0 == replacement }), atStart: piece.atStart)
            } else if !replaced.isEmpty {
                out.append(Piece(scalars: replaced, atStart: piece.atStart))
            }
        case .bert:
            var spaced: [Piece] = []
            for r in SplitBehavior.removed.apply(characterMatches(text, isBertSpace)) where !r.isEmpty {
                spaced.append(Piece(scalars: Array(text[r]), atStart: piece.atStart && r.lowerBound == 0))
            }
            for p in spaced { emit(p.scalars, SplitBehavior.isolated.apply(characterMatches(p.scalars, isBertPunctuation)), atStart: p.atStart) }
        case let .charDelimiter(delimiter):
            emit(text, SplitBehavior.removed.apply(characterMatches(text) { $0 == delimiter }), atStart: piece.atStart)
        }
    }
}

/// `\w` of the `regex` crate (Alphabetic, marks, Nd, Pc, Join_Control) with its Unicode tables.
func isRegexWordCharacter(_ c: UInt32) -> Bool {
    if c < 0x80 { return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F }
    return AddedTokenMatcher.isWordCharacter(c) && !UnicodeClassOverrides.contains(UnicodeClassOverrides.notWordCharacters, c)
}

/// Rust's `char::is_numeric` (Nd, Nl, No).
func isNumeric(_ c: UInt32) -> Bool {
    if c < 0x80 { return c >= 0x30 && c <= 0x39 }
    guard let s = Unicode.Scalar(c) else { return false }
    switch s.properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: return true
    default: return false
    }
}

/// `Punctuation`'s test: ASCII punctuation or a Unicode P* character.
func isPunctuation(_ c: UInt32) -> Bool {
    if c < 0x80 { return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E) }
    guard let s = Unicode.Scalar(c) else { return false }
    switch s.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation, .otherPunctuation:
        return !UnicodeClassOverrides.contains(UnicodeClassOverrides.notPunctuation, c)
    default: return UnicodeClassOverrides.contains(UnicodeClassOverrides.punctuation, c)
    }
}

/// The BERT pre-tokenizer's classes, from the tables the WordPiece fast path uses.
func isBertSpace(_ c: UInt32) -> Bool {
    if c < 0x80 { return c == 0x20 || (c >= 0x09 && c <= 0x0D) }
    return BertCharacterClasses.shared.flag(c) & BertCharacterClasses.splitSpace != 0
}

func isBertPunctuation(_ c: UInt32) -> Bool {
    if c < 0x80 { return isPunctuation(c) }
    return BertCharacterClasses.shared.flag(c) & BertCharacterClasses.punctuation != 0
}
