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

    /// The bytes each id stands for (a special token's UTF-8 content for special ids).
    public let tokenBytes: [[UInt8]]
    public let merges: [Merge]
    public let specialTokens: [SpecialToken]
    /// Id of each byte's single-byte token.
    let byteIds: [Int32]
    /// (left, right) → (rank, result).
    let mergeTable: [UInt64: (rank: Int32, result: Int32)]
    let isSpecial: [Bool]

    public init(tokenBytes: [[UInt8]], merges: [Merge], specialTokens: [(String, Int32)]) {
        self.tokenBytes = tokenBytes
        self.merges = merges
        self.specialTokens = specialTokens.map { SpecialToken(content: $0.0, id: $0.1) }
        var special = [Bool](repeating: false, count: tokenBytes.count)
        for (_, id) in specialTokens where id >= 0 && Int(id) < tokenBytes.count { special[Int(id)] = true }
        isSpecial = special
        var byteIds = [Int32](repeating: -1, count: 256)
        for (id, bytes) in tokenBytes.enumerated() where bytes.count == 1 && !special[id] && byteIds[Int(bytes[0])] < 0 {
            byteIds[Int(bytes[0])] = Int32(id)
        }
        self.byteIds = byteIds
        var table: [UInt64: (rank: Int32, result: Int32)] = [:]
        for (rank, m) in merges.enumerated() where table[Self.key(m.left, m.right)] == nil {
            table[Self.key(m.left, m.right)] = (Int32(rank), m.result)
        }
        mergeTable = table
    }

    public static func == (a: BPETokenizer, b: BPETokenizer) -> Bool {
        a.tokenBytes == b.tokenBytes && a.merges == b.merges && a.specialTokens == b.specialTokens
    }

    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }

    public var vocabSize: Int { tokenBytes.count }

    /// Id of `<|endoftext|>` (used as both BOS and EOS, as in GPT-2).
    public var endOfTextId: Int32 { specialId(Self.endOfText) ?? 0 }
    /// Id of the pad token (`<|pad|>`, or `<|endoftext|>` when the vocabulary has no pad token).
    public var padId: Int32 { specialId(Self.padToken) ?? endOfTextId }

    public func specialId(_ content: String) -> Int32? { specialTokens.first { $0.content == content }?.id }

    /// The token's vocabulary string: byte-level characters (`Ġ` for space), or a special token's text.
    /// `id` must be below `vocabSize`.
    public func tokenString(_ id: Int32) -> String {
        let i = Int(id)
        return isSpecial[i] ? String(decoding: tokenBytes[i], as: UTF8.self) : ByteLevel.encode(tokenBytes[i])
    }

    // MARK: Encoding

    /// Token ids of `text`. Special-token text (e.g. `<|endoftext|>`) becomes the special id when
    /// `allowSpecial`, otherwise it is encoded as ordinary text.
    public func encode(_ text: String, allowSpecial: Bool = true) -> [Int32] {
        var ids: [Int32] = []
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
            for piece in PreTokenizer.split(String(Substring(rest[rest.startIndex..<cut]))) { encodePiece(piece, into: &ids) }
            guard let special = found else { break }
            ids.append(special.id)
            rest = rest[foundEnd...]
        }
        return ids
    }

    /// BPE on one pre-tokenizer piece: repeatedly merge the adjacent pair with the lowest rank
    /// (leftmost first among equal ranks), using a heap over a linked list of symbols — O(n log n).
    func encodePiece(_ piece: Substring, into ids: inout [Int32]) {
        let bytes = Array(piece.utf8)
        var symbols = bytes.map { byteIds[Int($0)] }
        let n = symbols.count
        if n == 1 { ids.append(symbols[0]); return }
        var next = Array(1...n)            // n = none
        var prev = Array(-1..<(n - 1))     // -1 = none
        var alive = [Bool](repeating: true, count: n)
        var heap = BinaryHeap<(rank: Int32, position: Int)> { $0.rank != $1.rank ? $0.rank < $1.rank : $0.position < $1.position }
        for i in 0..<(n - 1) {
            if let m = mergeTable[Self.key(symbols[i], symbols[i + 1])] { heap.push((m.rank, i)) }
        }
        while let top = heap.pop() {
            let i = top.position
            guard alive[i], next[i] < n else { continue }
            let j = next[i]
            guard let m = mergeTable[Self.key(symbols[i], symbols[j])], m.rank == top.rank else { continue }
            symbols[i] = m.result
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { prev[next[j]] = i }
            if prev[i] >= 0, let l = mergeTable[Self.key(symbols[prev[i]], symbols[i])] { heap.push((l.rank, prev[i])) }
            if next[i] < n, let r = mergeTable[Self.key(symbols[i], symbols[next[i]])] { heap.push((r.rank, i)) }
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
