import JSONQuoting

/// The BPE model of `tokenizers` in general (`models::bpe::BPE::merge_word`): characters (with
/// `continuing_subword_prefix` on all but the first and `end_of_word_suffix` on the last) looked up in
/// the vocabulary, unknown ones as `<0xNN>` byte tokens (`byte_fallback`) or `unk_token` (fused when
/// `fuse_unk`) or dropped (no unk_token); then merges by rank, leftmost first. `ignore_merges`: a piece
/// found whole in the vocabulary is that token. Tokens are keyed by their UTF-8 bytes: Swift Strings
/// compare canonically, the vocabulary does not.
struct PipelineBPE: Sendable {
    let idOf: [[UInt8]: Int32]
    /// (left << 32 | right) → (rank, result).
    let merges: [UInt64: (rank: Int32, result: Int32)]
    let unkId: Int32?
    let fuseUnk: Bool
    let prefix: [UInt8]?
    let suffix: [UInt8]?
    let byteFallback: Bool
    let ignoreMerges: Bool
    /// The byte-fallback tokens `<0x00>` … `<0xFF>` (-1 where missing).
    let byteTokenIds: [Int32]

    init(model: JSONValue, vocab: [[UInt8]: Int32], reader r: PipelineJSON) throws {
        if let dropout = model["dropout"], !JSONFields.isNull(dropout), dropout.number != 0 {
            throw r.fail("model.dropout must be null (BPE dropout would make encodings random)")
        }
        idOf = vocab
        func optionalString(_ key: String) throws -> [UInt8]? {
            guard let v = model[key], !JSONFields.isNull(v) else { return nil }
            guard let s = v.string else { throw r.fail("model.\(key) must be a string or null, got \(v.quotedForMessage)") }
            return Array(s.utf8)
        }
        prefix = try optionalString("continuing_subword_prefix")
        suffix = try optionalString("end_of_word_suffix")
        if let unk = try optionalString("unk_token") {
            guard let id = vocab[unk] else {
                throw r.fail("model.unk_token \(quoted(String(decoding: unk, as: UTF8.self))) is not in model.vocab")
            }
            unkId = id
        } else {
            unkId = nil
        }
        fuseUnk = try r.bool(model, "fuse_unk", "model", default: false)
        byteFallback = try r.bool(model, "byte_fallback", "model", default: false)
        ignoreMerges = try r.bool(model, "ignore_merges", "model", default: false)
        byteTokenIds = (0..<256).map { b in
            let hex = String(b, radix: 16, uppercase: true)
            return vocab[Array("<0x\(hex.count == 1 ? "0" + hex : hex)>".utf8)] ?? -1
        }
        var table: [UInt64: (rank: Int32, result: Int32)] = [:]
        let entries: [JSONValue]
        if JSONFields.isNull(model["merges"]) { entries = [] } else {
            guard let list = model["merges"]?.array else { throw r.fail("model.merges must be a list") }
            entries = list
        }
        let prefixLength = prefix?.count ?? 0
        for (rank, entry) in entries.enumerated() {
            let pair: (String, String)
            if let a = entry.array, a.count == 2, let left = a[0].string, let right = a[1].string {
                pair = (left, right)
            } else if let s = entry.string, case let parts = s.split(separator: " ", omittingEmptySubsequences: false), parts.count == 2 {
                pair = (String(parts[0]), String(parts[1]))
            } else {
                throw r.fail("model.merges[\(rank)] must be a pair of strings")
            }
            let left = Array(pair.0.utf8), right = Array(pair.1.utf8)
            guard let l = vocab[left], let rt = vocab[right], right.count >= prefixLength else {
                throw r.fail("model.merges[\(rank)] \([pair.0, pair.1]) refers to tokens missing from model.vocab")
            }
            // The merged token drops the right part's continuing-subword prefix (as `tokenizers` builds it).
            guard let m = vocab[left + right[prefixLength...]] else {
                throw r.fail("model.merges[\(rank)] \([pair.0, pair.1]) makes a token missing from model.vocab")
            }
            table[UInt64(UInt32(l)) << 32 | UInt64(UInt32(rt))] = (Int32(rank), m)
        }
        merges = table
    }

    func encode(_ piece: [UInt32], into ids: inout [Int32]) {
        guard !piece.isEmpty else { return }
        var whole: [UInt8] = []
        for c in piece { WordPieceTokenizer.appendUTF8(c, to: &whole) }
        if ignoreMerges, let id = idOf[whole] { ids.append(id); return }
        var symbols: [Int32] = []
        var unk: Int32?
        var bytes: [UInt8] = []
        for (i, c) in piece.enumerated() {
            bytes.removeAll(keepingCapacity: true)
            if i > 0, let prefix { bytes += prefix }
            WordPieceTokenizer.appendUTF8(c, to: &bytes)
            if i == piece.count - 1, let suffix { bytes += suffix }
            if let id = idOf[bytes] {
                if let u = unk { symbols.append(u); unk = nil }
                symbols.append(id)
                continue
            }
            if byteFallback, bytes.allSatisfy({ byteTokenIds[Int($0)] >= 0 }) {
                // (a pending unk stays pending, as in `tokenizers`)
                symbols += bytes.map { byteTokenIds[Int($0)] }
                continue
            }
            guard let unkId else { continue }
            if unk != nil && !fuseUnk { symbols.append(unkId) }
            unk = unkId
        }
        if let u = unk { symbols.append(u) }
        ids += merged(symbols)
    }

    /// `Word::merge_all` of `tokenizers`: a queue of candidate merges, lowest rank first and leftmost
    /// among equals; stale entries (a side already merged away or changed) are skipped. O(n log n), so
    /// a long piece (no pre-tokenizer: a whole document) stays fast.
    private func merged(_ symbols: [Int32]) -> [Int32] {
        let n = symbols.count
        guard n > 1 else { return symbols }
        var c = symbols
        var alive = [Bool](repeating: true, count: n)
        var prev = Array(-1..<(n - 1)), next = Array(1...n)
        next[n - 1] = -1
        struct Candidate { let rank: Int32, pos: Int, result: Int32 }
        var queue = BinaryHeap<Candidate> { $0.rank != $1.rank ? $0.rank < $1.rank : $0.pos < $1.pos }
        func lookup(_ a: Int32, _ b: Int32) -> (rank: Int32, result: Int32)? { merges[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))] }
        for i in 0..<(n - 1) {
            if let m = lookup(c[i], c[i + 1]) { queue.push(Candidate(rank: m.rank, pos: i, result: m.result)) }
        }
        while let top = queue.pop() {
            let pos = top.pos
            guard alive[pos], next[pos] >= 0 else { continue }
            let right = next[pos]
            guard let current = lookup(c[pos], c[right]), current.result == top.result else { continue }
            c[pos] = top.result
            alive[right] = false
            next[pos] = next[right]
            if next[right] >= 0 { prev[next[right]] = pos }
            if prev[pos] >= 0, let m = lookup(c[prev[pos]], c[pos]) { queue.push(Candidate(rank: m.rank, pos: prev[pos], result: m.result)) }
            if next[pos] >= 0, let m = lookup(c[pos], c[next[pos]]) { queue.push(Candidate(rank: m.rank, pos: pos, result: m.result)) }
        }
        return (0..<n).filter { alive[$0] }.map { c[$0] }
    }
}
