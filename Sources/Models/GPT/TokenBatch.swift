/// A (B, T) batch of token ids, row-major, with an optional attention mask and position ids.
///
/// Left padding: put pads first and mark them 0 in `attentionMask`; positions then default to
/// "number of real tokens before this one" (HF `cumsum(mask) − 1`), so a left-padded row gets the same
/// logits as the unpadded sequence. Right padding works too (pads are never attended to).
public struct TokenBatch: Sendable, Equatable {
    public var tokens: [Int32]
    public var batch: Int
    public var time: Int
    /// (B, T), 1 = real token, 0 = padding. nil = all real.
    public var attentionMask: [Int32]?
    /// (B, T). nil = derived from the mask (or 0..<T).
    public var positions: [Int32]?

    public init(tokens: [Int32], batch: Int, time: Int, attentionMask: [Int32]? = nil, positions: [Int32]? = nil) {
        precondition(tokens.count == batch * time, "TokenBatch: \(tokens.count) tokens for shape (\(batch), \(time))")
        precondition(attentionMask == nil || attentionMask!.count == batch * time, "TokenBatch: attention mask size")
        precondition(positions == nil || positions!.count == batch * time, "TokenBatch: positions size")
        self.tokens = tokens
        self.batch = batch
        self.time = time
        self.attentionMask = attentionMask
        self.positions = positions
    }

    /// Left-pads variable-length rows to the longest one with `padToken` and masks the pads.
    public static func leftPadded(_ rows: [[Int32]], padToken: Int32) -> TokenBatch {
        let t = rows.map(\.count).max() ?? 0
        var tokens: [Int32] = [], mask: [Int32] = []
        tokens.reserveCapacity(rows.count * t)
        for row in rows {
            let pad = t - row.count
            tokens += Array(repeating: padToken, count: pad) + row
            mask += Array(repeating: 0, count: pad) + Array(repeating: 1, count: row.count)
        }
        return TokenBatch(tokens: tokens, batch: rows.count, time: t, attentionMask: mask)
    }

    /// Index t of the last real token of each row (T − 1 when there is no mask; 0 for an all-pad row).
    public var lastTokenIndices: [Int] {
        (0..<batch).map { b in
            guard let m = attentionMask else { return time - 1 }
            for t in stride(from: time - 1, through: 0, by: -1) where m[b * time + t] != 0 { return t }
            return 0
        }
    }
}
