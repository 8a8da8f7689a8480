/// A BERT WordPiece tokenizer, step for step the pipeline of `tokenizers` (`BertTokenizerFast`):
/// added tokens matched in the raw text → `BertNormalizer` → `BertPreTokenizer` (split on whitespace,
/// isolate punctuation) → WordPiece (greedy longest match, `##` continuations, [UNK] for a word that
/// cannot be covered or is longer than `maxInputCharsPerWord`) → optional post-processor.
///
/// `encode` never adds [CLS]/[SEP]: a GPT trained on a BERT vocabulary wants the plain ids, and the
/// stages choose their own BOS/EOS. `encode(_:addSpecialTokens: true)` applies the post-processor
/// template explicitly (what `tokenizer.encode(text)` returns in `tokenizers` by default).
public struct WordPieceTokenizer: Sendable {
    /// Model vocabulary, by id (the lines of vocab.txt).
    public let vocabulary: [String]
    /// Added tokens (special tokens and user additions); their ids may lie inside or past `vocabulary`.
    public let addedTokens: [AddedToken]
    public let unkToken: String
    public let unkId: Int32
    public let continuingSubwordPrefix: String
    public let maxInputCharsPerWord: Int
    /// nil: no normaliser (text is split as given).
    public let normalizer: BertNormalizer?
    /// The WordPiece decoder (`cleanup`: the punctuation/contraction space fixes); nil joins tokens with spaces.
    public let decoder: Decoder?
    /// Ids around the encoded text when `addSpecialTokens` (e.g. [CLS] … [SEP]).
    public let postProcessor: PostProcessor

    public struct Decoder: Sendable, Equatable {
        public var prefix: String
        public var cleanup: Bool
        public init(prefix: String = "##", cleanup: Bool = true) { self.prefix = prefix; self.cleanup = cleanup }
    }

    /// What `addSpecialTokens` puts around a single sequence: ids before and after it.
    public struct PostProcessor: Sendable, Equatable {
        public var prefix: [Int32]
        public var suffix: [Int32]
        public init(prefix: [Int32] = [], suffix: [Int32] = []) { self.prefix = prefix; self.suffix = suffix }
    }

    let initialPieces: ByteTrie
    let continuingPieces: ByteTrie
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// id → added token index (ids past the vocabulary, or added tokens overriding a vocabulary id).
    let addedById: [Int32: Int]
    /// What decoding shows for each added token: its normalised form when it is matched normalised
    /// (`tokenizers` decodes "iPhone" added to an uncased tokenizer as "iphone").
    let addedTokenDecoded: [String]
    let isSpecialId: [Bool]

    public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
        case emptyVocabulary
        case duplicateToken(String, firstId: Int, secondId: Int)
        case missingUnknownToken(String)
        case addedTokenIdConflict(String, id: Int32, vocabularyToken: String)
        case addedTokenIdNegative(String, id: Int32)
        case idGap(Int)

        public var description: String {
            switch self {
            case .emptyVocabulary: return "the vocabulary is empty"
            case let .duplicateToken(t, a, b): return "token \(quoted(t)) appears twice (ids \(a) and \(b)); every token must be unique"
            case let .missingUnknownToken(t): return "the unknown token \(quoted(t)) is not in the vocabulary (add it, or name the right unk_token)"
            case let .addedTokenIdConflict(t, id, v): return "added token \(quoted(t)) claims id \(id), which the vocabulary gives to \(quoted(v))"
            case let .addedTokenIdNegative(t, id): return "added token \(quoted(t)) has a negative id \(id)"
            case let .idGap(id): return "no token has id \(id) (ids must run from 0 without gaps)"
            }
        }
    }

    public init(vocabulary: [String], unkToken: String = "[UNK]", continuingSubwordPrefix: String = "##",
                maxInputCharsPerWord: Int = 100, normalizer: BertNormalizer? = BertNormalizer(),
                addedTokens: [AddedToken] = [], decoder: Decoder? = Decoder(),
                postProcessor: PostProcessor = PostProcessor()) throws {
        guard !vocabulary.isEmpty else { throw ConfigurationError.emptyVocabulary }
        var idOf: [String: Int] = [:]
        idOf.reserveCapacity(vocabulary.count)
        for (id, token) in vocabulary.enumerated() {
            if let first = idOf[token] { throw ConfigurationError.duplicateToken(token, firstId: first, secondId: id) }
            idOf[token] = id
        }
        guard let unk = idOf[unkToken] else { throw ConfigurationError.missingUnknownToken(unkToken) }
        var addedById: [Int32: Int] = [:]
        var total = vocabulary.count
        for (index, token) in addedTokens.enumerated() {
            guard token.id >= 0 else { throw ConfigurationError.addedTokenIdNegative(token.content, id: token.id) }
            let id = Int(token.id)
            if id < vocabulary.count && vocabulary[id] != token.content {
                throw ConfigurationError.addedTokenIdConflict(token.content, id: token.id, vocabularyToken: vocabulary[id])
            }
            if let other = addedById[token.id], addedTokens[other].content != token.content {
                throw ConfigurationError.addedTokenIdConflict(token.content, id: token.id, vocabularyToken: addedTokens[other].content)
            }
            addedById[token.id] = index
            total = max(total, id + 1)
        }
        // Ids past the vocabulary must continue it without gaps (checked on the sorted ids, so a hostile
        // id like 2e9 is reported instead of allocating for it).
        var expected = vocabulary.count
        for id in addedById.keys.map(Int.init).filter({ $0 >= vocabulary.count }).sorted() {
            guard id == expected else { throw ConfigurationError.idGap(expected) }
            expected += 1
        }
        var isSpecial = [Bool](repeating: false, count: total)
        for token in addedTokens where token.special { isSpecial[Int(token.id)] = true }

        self.vocabulary = vocabulary
        self.addedTokens = addedTokens
        self.unkToken = unkToken
        self.unkId = Int32(unk)
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.normalizer = normalizer
        self.decoder = decoder
        self.postProcessor = postProcessor
        self.addedById = addedById
        self.isSpecialId = isSpecial
        let prefixBytes = Array(continuingSubwordPrefix.utf8)
        initialPieces = ByteTrie(vocabulary.enumerated().map { (Array($0.element.utf8), Int32($0.offset)) })
        continuingPieces = ByteTrie(vocabulary.enumerated().compactMap { id, token in
            let bytes = Array(token.utf8)
            guard bytes.count >= prefixBytes.count, bytes.starts(with: prefixBytes) else { return nil }
            return (Array(bytes[prefixBytes.count...]), Int32(id))
        })
        let forms: [[UInt32]] = addedTokens.map { token in
            var normalized: [UInt32] = []
            if token.normalized, let normalizer { normalizer.normalize(Self.scalars(token.content), into: &normalized) } else { normalized = Self.scalars(token.content) }
            return normalized
        }
        addedTokenDecoded = forms.map { String(String.UnicodeScalarView($0.compactMap(Unicode.Scalar.init))) }
        rawMatcher = AddedTokenMatcher(zip(forms, addedTokens).filter { !$0.1.normalized }.map { ($0.0, $0.1) })
        normalizedMatcher = AddedTokenMatcher(zip(forms, addedTokens).filter { $0.1.normalized }.map { ($0.0, $0.1) })
    }

    static func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

    /// Vocabulary plus added tokens past it.
    public var vocabSize: Int { isSpecialId.count }

    /// The id of a token (vocabulary or added), if any.
    public func id(of token: String) -> Int32? {
        if let added = addedTokens.first(where: { $0.content == token }) { return added.id }
        return initialPieces.id(of: token.utf8)
    }

    /// The token's string, or nil for an id outside the vocabulary.
    public func token(of id: Int32) -> String? {
        if let index = addedById[id] { return addedTokens[index].content }
        return id >= 0 && Int(id) < vocabulary.count ? vocabulary[Int(id)] : nil
    }

    public func isSpecial(_ id: Int32) -> Bool { id >= 0 && Int(id) < isSpecialId.count && isSpecialId[Int(id)] }

    // MARK: Encoding

    /// Token ids of `text`. Added tokens' text becomes their id (special ones only when `allowSpecial`);
    /// [CLS]/[SEP] (the post-processor) are added only when `addSpecialTokens`.
    public func encode(_ text: String, allowSpecial: Bool = true, addSpecialTokens: Bool = false) -> [Int32] {
        var ids: [Int32] = []
        if addSpecialTokens { ids += postProcessor.prefix }
        let raw = text.unicodeScalars.map(\.value)
        var rawPieces: [AddedTokenMatcher.Piece] = []
        rawMatcher.split(raw, 0..<raw.count, allowSpecial: allowSpecial, into: &rawPieces)
        var normalized: [UInt32] = []
        var pieces: [AddedTokenMatcher.Piece] = []
        var bytes: [UInt8] = []
        for piece in rawPieces {
            guard case let .text(range) = piece else {
                if case let .token(id) = piece { ids.append(id) }
                continue
            }
            normalized.removeAll(keepingCapacity: true)
            if let normalizer { normalizer.normalize(raw[range], into: &normalized) } else { normalized += raw[range] }
            pieces.removeAll(keepingCapacity: true)
            normalizedMatcher.split(normalized, 0..<normalized.count, allowSpecial: allowSpecial, into: &pieces)
            for p in pieces {
                switch p {
                case let .token(id): ids.append(id)
                case let .text(r): encodeWords(normalized, r, bytes: &bytes, into: &ids)
                }
            }
        }
        if addSpecialTokens { ids += postProcessor.suffix }
        return ids
    }

    /// BERT pre-tokenisation of `text[range]` (split at whitespace, punctuation on its own), then WordPiece per word.
    func encodeWords(_ text: [UInt32], _ range: Range<Int>, bytes: inout [UInt8], into ids: inout [Int32]) {
        let classes = BertCharacterClasses.shared
        var wordStart = range.lowerBound
        var i = range.lowerBound
        while i < range.upperBound {
            let c = text[i]
            let flags: UInt8 = c < 0x80
                ? (c == 0x20 || (c >= 0x09 && c <= 0x0D) ? BertCharacterClasses.splitSpace
                    : (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E)
                        ? BertCharacterClasses.punctuation : 0)
                : classes.flag(c)
            if flags & BertCharacterClasses.splitSpace != 0 {
                if wordStart < i { encodeWord(text, wordStart..<i, bytes: &bytes, into: &ids) }
                wordStart = i + 1
            } else if flags & BertCharacterClasses.punctuation != 0 {
                if wordStart < i { encodeWord(text, wordStart..<i, bytes: &bytes, into: &ids) }
                encodeWord(text, i..<(i + 1), bytes: &bytes, into: &ids)
                wordStart = i + 1
            }
            i += 1
        }
        if wordStart < range.upperBound { encodeWord(text, wordStart..<range.upperBound, bytes: &bytes, into: &ids) }
    }

    /// WordPiece on one word: longest vocabulary prefix, then longest `##` continuation, …; the whole
    /// word becomes [UNK] if any position has no match or the word is too long.
    func encodeWord(_ text: [UInt32], _ range: Range<Int>, bytes: inout [UInt8], into ids: inout [Int32]) {
        if range.count > maxInputCharsPerWord { ids.append(unkId); return }
        bytes.removeAll(keepingCapacity: true)
        for c in text[range] { Self.appendUTF8(c, to: &bytes) }
        let start = ids.count
        let ok = bytes.withUnsafeBufferPointer { buffer -> Bool in
            var position = 0
            while position < buffer.count {
                let trie = position == 0 ? initialPieces : continuingPieces
                guard let match = trie.longestMatch(buffer, from: position) else { return false }
                ids.append(match.id)
                position = match.end
            }
            return true
        }
        if !ok {
            ids.removeSubrange(start...)
            ids.append(unkId)
        }
    }

    @inline(__always) static func appendUTF8(_ c: UInt32, to bytes: inout [UInt8]) {
        switch c {
        case 0..<0x80: bytes.append(UInt8(c))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | (c >> 6))); bytes.append(UInt8(0x80 | (c & 0x3F)))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | (c >> 12))); bytes.append(UInt8(0x80 | ((c >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (c & 0x3F)))
        default:
            bytes.append(UInt8(0xF0 | (c >> 18))); bytes.append(UInt8(0x80 | ((c >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((c >> 6) & 0x3F))); bytes.append(UInt8(0x80 | (c & 0x3F)))
        }
    }

    // MARK: Decoding

    /// The text of `ids` as `tokenizers` decodes it: unknown ids dropped, special tokens dropped when
    /// `skipSpecial`, then the WordPiece decoder (`##` pieces glued on, other tokens after a space,
    /// and with `cleanup` the spaces before `.` `?` `!` `,` and inside contractions removed).
    public func decode(_ ids: some Sequence<Int32>, skipSpecial: Bool = false) -> String {
        var tokens: [String] = []
        for id in ids {
            if skipSpecial && isSpecial(id) { continue }
            if let index = addedById[id] {
                tokens.append(addedTokenDecoded[index])
            } else if id >= 0 && Int(id) < vocabulary.count {
                tokens.append(vocabulary[Int(id)])
            }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        // Bytes, not Characters: the prefix test and the clean-up replacements of `tokenizers` are byte-wise.
        let prefix = Array(decoder.prefix.utf8)
        var out: [UInt8] = []
        var piece: [UInt8] = []
        for (i, token) in tokens.enumerated() {
            piece.removeAll(keepingCapacity: true)
            let bytes = token.utf8
            if i != 0 {
                if !prefix.isEmpty && bytes.starts(with: prefix) {
                    piece += bytes.dropFirst(prefix.count)
                } else {
                    piece.append(0x20)
                    piece += bytes
                }
            } else {
                piece += bytes
            }
            if decoder.cleanup && piece.contains(0x20) {
                for (from, to) in Self.cleanupReplacements { piece = Self.replacing(piece, from, to) }
            }
            out += piece
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `tokenizers`' WordPiece decoder clean-up, applied in this order to each (space-prefixed) token.
    static let cleanupReplacements: [([UInt8], [UInt8])] = [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
        (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ].map { (Array($0.0.utf8), Array($0.1.utf8)) }

    /// Every non-overlapping occurrence of `from` (left to right) replaced by `to`.
    static func replacing(_ s: [UInt8], _ from: [UInt8], _ to: [UInt8]) -> [UInt8] {
        guard s.count >= from.count else { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if i + from.count <= s.count && s[i] == from[0] && s[i..<(i + from.count)].elementsEqual(from) {
                out += to
                i += from.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}

func quoted(_ s: String) -> String { "\"" + s.unicodeScalars.map { $0.escaped(asASCII: false) }.joined() + "\"" }
