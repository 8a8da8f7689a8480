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
    let mergeTable: MergeTable
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
        mergeTable = MergeTable(merges)
    }

    public static func == (a: BPETokenizer, b: BPETokenizer) -> Bool {
        a.tokenBytes == b.tokenBytes && a.merges == b.merges && a.specialTokens == b.specialTokens
    }

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
            encodeOrdinary(String(Substring(rest[rest.startIndex..<cut])), into: &ids)
            guard let special = found else { break }
            ids.append(special.id)
            rest = rest[foundEnd...]
        }
        return ids
    }

    /// `encode(text, allowSpecial: false)`, remembering encoded pieces in `cache` (for many texts).
    public func encodeOrdinary(_ text: String, cache: inout BPEPieceCache) -> [Int32] {
        var ids: [Int32] = []
        var text = text
        text.withUTF8 { bytes in
            PreTokenizer.forEachPiece(bytes) { start, end in
                cache.append(UnsafeBufferPointer(rebasing: bytes[start..<end]), to: &ids) { encodePiece($0, into: &$1) }
            }
        }
        return ids
    }

    /// Token ids of ordinary text (no special tokens): BPE on each pre-tokenizer piece.
    func encodeOrdinary(_ text: String, into ids: inout [Int32]) {
        var text = text
        text.withUTF8 { bytes in
            PreTokenizer.forEachPiece(bytes) { start, end in encodePiece(UnsafeBufferPointer(rebasing: bytes[start..<end]), into: &ids) }
        }
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
