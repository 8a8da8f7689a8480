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
        // Lowest rank first, leftmost among equals: what the priority queue of `Word::merge_all` pops.
        while symbols.count > 1 {
            var best = -1
            var bestRank = Int32.max, bestResult: Int32 = 0
            for i in 0..<(symbols.count - 1) {
                if let m = merges[UInt64(UInt32(symbols[i])) << 32 | UInt64(UInt32(symbols[i + 1]))], m.rank < bestRank {
                    best = i; bestRank = m.rank; bestResult = m.result
                }
            }
            guard best >= 0 else { break }
            symbols[best] = bestResult
            symbols.remove(at: best + 1)
        }
        ids += symbols
    }
}
