/// A byte-level BPE tokenizer: GPT-2 pre-tokenisation, byte tokens, merges applied in rank order,
/// and special tokens matched in the raw text (like Hugging Face "added tokens").
public struct BPETokenizer: Sendable, Equatable {
    public static let endOfText = "<|endoftext|>"
    public static let padToken = "<|pad|>"

    /// One merge rule: `left` followed by `right` becomes `result`. A rule's rank is its index.
    public struct Merge: Sendable, Equatable {
        public let left: Int32, right: Int32, result: Int32
        public init(left: Int32, right: Int32, result: Int32) { self.left = left; self.right = right; self.result = result }
    }

    public struct SpecialToken: Sendable, Equatable {
        public let content: String
        public let id: Int32
    }

    /// The bytes each id stands for (an added token's UTF-8 content for added ids).
    public let tokenBytes: [[UInt8]]
    public let merges: [Merge]
    /// Every added token (content and id), special or not: what `specialId` finds.
    public let specialTokens: [SpecialToken]
    /// The added tokens with their `tokenizer.json` flags (special, single_word, lstrip, rstrip, normalized).
    public let addedTokens: [AddedToken]
    /// Id of each byte's single-byte token.
    let byteIds: [Int32]
    /// (left, right) → (rank, result).
    let mergeTable: MergeTable
    /// Ids whose bytes are an added token's content (not byte-level strings).
    let isAdded: [Bool]
    /// Ids dropped by `decode(skipSpecial: true)`: the special added tokens.
    let isSpecial: [Bool]
    /// Added tokens matched in the raw text, then (in what is left) the `normalized` ones, as `tokenizers`
    /// does; without a normaliser the two differ only in that order.
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// Whether some added token is matched by `encode(allowSpecial: false)` too (a non-special one), or
    /// has a matching rule beyond its plain text.
    let needsMatcher: Bool
    /// The ByteLevel pre-tokenizer's `add_prefix_space`: every non-empty stretch of text between added
    /// tokens that does not start with " " gets one ("hello" is encoded as " hello"), as `tokenizers` does.
    public internal(set) var addPrefixSpace = false

    /// Special tokens only (pipe's own tokenizer, GPT-2's `<|endoftext|>`): matched as plain text.
    public init(tokenBytes: [[UInt8]], merges: [Merge], specialTokens: [(String, Int32)]) {
        self.init(tokenBytes: tokenBytes, merges: merges,
                  addedTokens: specialTokens.map { AddedToken(id: $0.1, content: $0.0, special: true) })
    }

    public init(tokenBytes: [[UInt8]], merges: [Merge], addedTokens: [AddedToken]) {
        self.tokenBytes = tokenBytes
        self.merges = merges
        self.addedTokens = addedTokens
        specialTokens = addedTokens.map { SpecialToken(content: $0.content, id: $0.id) }
        var added = [Bool](repeating: false, count: tokenBytes.count)
        var special = [Bool](repeating: false, count: tokenBytes.count)
        for t in addedTokens where t.id >= 0 && Int(t.id) < tokenBytes.count {
            added[Int(t.id)] = true
            if t.special { special[Int(t.id)] = true }
        }
        isAdded = added
        isSpecial = special
        var byteIds = [Int32](repeating: -1, count: 256)
        for (id, bytes) in tokenBytes.enumerated() where bytes.count == 1 && !added[id] && byteIds[Int(bytes[0])] < 0 {
            byteIds[Int(bytes[0])] = Int32(id)
        }
        self.byteIds = byteIds
        mergeTable = MergeTable(merges)
        let patterns = addedTokens.map { (scalars: $0.content.unicodeScalars.map(\.value), token: $0) }
        rawMatcher = AddedTokenMatcher(patterns.filter { !$0.token.normalized })
        normalizedMatcher = AddedTokenMatcher(patterns.filter { $0.token.normalized })
        needsMatcher = addedTokens.contains { !$0.special || $0.singleWord || $0.lstrip || $0.rstrip || $0.normalized }
    }

    public static func == (a: BPETokenizer, b: BPETokenizer) -> Bool {
        a.tokenBytes == b.tokenBytes && a.merges == b.merges && a.addedTokens == b.addedTokens && a.addPrefixSpace == b.addPrefixSpace
    }

    public var vocabSize: Int { tokenBytes.count }

    /// Id of `<|endoftext|>` (used as both BOS and EOS, as in GPT-2).
    public var endOfTextId: Int32 { specialId(Self.endOfText) ?? 0 }
    /// Id of the pad token (`<|pad|>`, or `<|endoftext|>` when the vocabulary has no pad token).
    public var padId: Int32 { specialId(Self.padToken) ?? endOfTextId }

    public func specialId(_ content: String) -> Int32? { specialTokens.first { $0.content == content }?.id }

    /// The token's vocabulary string: byte-level characters (`Ġ` for space), or an added token's text.
    /// `id` must be below `vocabSize`.
    public func tokenString(_ id: Int32) -> String {
        let i = Int(id)
        return isAdded[i] ? String(decoding: tokenBytes[i], as: UTF8.self) : ByteLevel.encode(tokenBytes[i])
    }

    // MARK: Encoding

    /// Token ids of `text`. Special-token text (e.g. `<|endoftext|>`) becomes the special id when
    /// `allowSpecial`, otherwise it is encoded as ordinary text; non-special added tokens always match.
    public func encode(_ text: String, allowSpecial: Bool = true) -> [Int32] {
        var ids: [Int32] = []
        if needsMatcher {
            forEachPiece(text, allowSpecial: allowSpecial) { piece in
                switch piece {
                case let .token(id): ids.append(id)
                case let .text(t): encodeOrdinary(t, into: &ids)
                }
            }
            return ids
        }
        // Special tokens are found among Unicode scalars, not Characters: "<|endoftext|>" followed by a
        // joiner or combining mark is still the token (as in `tokenizers`, which matches bytes).
        var rest = Substring(text).unicodeScalars
        while !rest.isEmpty {
            var cut = rest.endIndex, foundEnd = rest.endIndex
            var found: SpecialToken?
            if allowSpecial {
                for s in specialTokens where !s.content.isEmpty {
                    if let r = rest.firstRange(of: s.content.unicodeScalars), r.lowerBound < cut || (r.lowerBound == cut && r.upperBound > foundEnd) {
                        cut = r.lowerBound
                        foundEnd = r.upperBound
                        found = s
                    }
                }
            }
            encodeOrdinary(String(Substring(rest[rest.startIndex..<cut])), into: &ids)
            guard let special = found else { break }
            ids.append(special.id)
            rest = rest[foundEnd...]
        }
        return ids
    }

    enum Piece {
        case token(Int32)
        case text(String)
    }

    /// Splits `text` at its added tokens (raw-matched ones first, then normalised ones in the rest, with
    /// their single_word / lstrip / rstrip rules) and calls `body` for each token and plain-text piece.
    func forEachPiece(_ text: String, allowSpecial: Bool, _ body: (Piece) -> Void) {
        let scalars = text.unicodeScalars.map(\.value)
        func string(_ range: Range<Int>) -> String {
            var view = String.UnicodeScalarView()
            for v in scalars[range] { if let s = Unicode.Scalar(v) { view.append(s) } }
            return String(view)
        }
        var raw: [AddedTokenMatcher.Piece] = []
        rawMatcher.split(scalars, 0..<scalars.count, allowSpecial: allowSpecial, into: &raw)
        var pieces: [AddedTokenMatcher.Piece] = []
        for piece in raw {
            guard case let .text(range) = piece else {
                if case let .token(id) = piece { body(.token(id)) }
                continue
            }
            pieces.removeAll(keepingCapacity: true)
            normalizedMatcher.split(scalars, range, allowSpecial: allowSpecial, into: &pieces)
            for p in pieces {
                switch p {
                case let .token(id): body(.token(id))
                case let .text(r): if !r.isEmpty { body(.text(string(r))) }
                }
            }
        }
    }

    /// `encode(text, allowSpecial: false)`, remembering encoded pieces in `cache` (for many texts).
    public func encodeOrdinary(_ text: String, cache: inout BPEPieceCache) -> [Int32] {
        var ids: [Int32] = []
        if needsMatcher {
            forEachPiece(text, allowSpecial: false) { piece in
                switch piece {
                case let .token(id): ids.append(id)
                case let .text(t): encodeCached(t, cache: &cache, into: &ids)
                }
            }
            return ids
        }
        encodeCached(text, cache: &cache, into: &ids)
        return ids
    }

    private func encodeCached(_ text: String, cache: inout BPEPieceCache, into ids: inout [Int32]) {
        var text = prefixed(text)
        text.withUTF8 { bytes in
            PreTokenizer.forEachPiece(bytes) { start, end in
                cache.append(UnsafeBufferPointer(rebasing: bytes[start..<end]), to: &ids) { encodePiece($0, into: &$1) }
            }
        }
    }

    /// Token ids of ordinary text (no special tokens): BPE on each pre-tokenizer piece.
    func encodeOrdinary(_ text: String, into ids: inout [Int32]) {
        var text = prefixed(text)
        text.withUTF8 { bytes in
            PreTokenizer.forEachPiece(bytes) { start, end in encodePiece(UnsafeBufferPointer(rebasing: bytes[start..<end]), into: &ids) }
        }
    }

    /// A stretch of text between added tokens as the pre-tokenizer sees it (see `addPrefixSpace`).
    private func prefixed(_ text: String) -> String {
        addPrefixSpace && !text.isEmpty && text.utf8.first != 0x20 ? " " + text : text
    }

    /// BPE on one pre-tokenizer piece: repeatedly merge the adjacent pair with the lowest rank
    /// (leftmost first among equal ranks). Short pieces keep the rank of each adjacent pair in a
    /// scratch array and scan it (no allocation); long ones use a heap over a linked list — O(n log n).
    func encodePiece(_ piece: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        let n = piece.count
        if n == 0 { return }
        if n == 1 { ids.append(byteIds[Int(piece[0])]); return }
        if n > 48 { encodeLongPiece(piece, into: &ids); return }
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 2 * n) { scratch in
            let symbols = UnsafeMutableBufferPointer(rebasing: scratch[0..<n])
            // ranks[k]: rank of the merge of symbols k and k + 1 (Int32.max: none).
            let ranks = UnsafeMutableBufferPointer(rebasing: scratch[n..<(2 * n)])
            for k in 0..<n { symbols[k] = byteIds[Int(piece[k])] }
            func rank(_ k: Int) -> Int32 { mergeTable.lookup(symbols[k], symbols[k + 1])?.rank ?? Int32.max }
            var count = n
            for k in 0..<(count - 1) { ranks[k] = rank(k) }
            while count > 1 {
                var best = 0
                for k in 1..<(count - 1) where ranks[k] < ranks[best] { best = k }
                guard ranks[best] != Int32.max, let m = mergeTable.lookup(symbols[best], symbols[best + 1]) else { break }
                symbols[best] = m.result
                for k in (best + 1)..<(count - 1) {
                    symbols[k] = symbols[k + 1]
                    if k + 1 < count - 1 { ranks[k] = ranks[k + 1] }  // pair k + 1 exists
                }
                count -= 1
                if best > 0 { ranks[best - 1] = rank(best - 1) }
                if best < count - 1 { ranks[best] = rank(best) }
            }
            for k in 0..<count { ids.append(symbols[k]) }
        }
    }

    /// `encodePiece` for long pieces: a heap of (rank, position) over a linked list of symbols.
    private func encodeLongPiece(_ piece: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        var symbols = piece.map { byteIds[Int($0)] }
        let n = symbols.count
        var next = Array(1...n)            // n = none
        var prev = Array(-1..<(n - 1))     // -1 = none
        var alive = [Bool](repeating: true, count: n)
        var heap = BinaryHeap<(rank: Int32, position: Int)> { $0.rank != $1.rank ? $0.rank < $1.rank : $0.position < $1.position }
        for i in 0..<(n - 1) {
            if let m = mergeTable.lookup(symbols[i], symbols[i + 1]) { heap.push((m.rank, i)) }
        }
        while let top = heap.pop() {
            let i = top.position
            guard alive[i], next[i] < n else { continue }
            let j = next[i]
            guard let m = mergeTable.lookup(symbols[i], symbols[j]), m.rank == top.rank else { continue }
            symbols[i] = m.result
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { prev[next[j]] = i }
            if prev[i] >= 0, let l = mergeTable.lookup(symbols[prev[i]], symbols[i]) { heap.push((l.rank, prev[i])) }
            if next[i] < n, let r = mergeTable.lookup(symbols[i], symbols[next[i]]) { heap.push((r.rank, i)) }
        }
        var i = 0
        while i < n { ids.append(symbols[i]); i = next[i] }
    }

    // MARK: Decoding

    /// The text of `ids`. Invalid UTF-8 (e.g. a sequence cut inside a character) decodes to U+FFFD.
    public func decode(_ ids: some Sequence<Int32>, skipSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            let i = Int(id)
            guard i >= 0 && i < tokenBytes.count else { continue }
            if skipSpecial && isSpecial[i] { continue }
            bytes += tokenBytes[i]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
