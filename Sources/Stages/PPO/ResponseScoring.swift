import Models
import Tensor

/// Queries (left-padded to a common length P) followed by fixed-length responses of R tokens, as one
/// (B, P + R) batch. Response tokens after an EOS are masked out of attention, so the reward head reads
/// the last real token and padding never influences real positions.
public struct QueryResponseBatch: Sendable {
    /// (B, P + R): what the reward model reads.
    public let batch: TokenBatch
    /// (B, P + R − 1): `batch` without its last column. The last response token is only ever a target
    /// (no position after it is read), so the policy and reference passes of `ResponseScoring` skip it.
    public let scoringBatch: TokenBatch
    public let queryLength: Int
    public let responseLength: Int
    /// `predictingPosition(row:token:)` for every (row, token), row-major [B × R]: the LM-head rows PPO reads.
    public let predictingPositions: [Int]
    /// The response tokens, row-major [B × R].
    public let responseTokens: [Int32]

    public init(queries: [[Int32]], responses: [Int32], responseMask: [Float], responseLength R: Int, pad: Int32) {
        let p = queries.map(\.count).max() ?? 0
        var tokens: [Int32] = [], mask: [Int32] = []
        tokens.reserveCapacity(queries.count * (p + R)); mask.reserveCapacity(queries.count * (p + R))
        for (row, q) in queries.enumerated() {
            tokens += Array(repeating: pad, count: p - q.count) + q
            mask += Array(repeating: 0, count: p - q.count) + Array(repeating: 1, count: q.count)
            for t in 0..<R {
                tokens.append(responses[row * R + t])
                mask.append(responseMask[row * R + t] > 0 ? 1 : 0)
            }
        }
        self.init(batch: TokenBatch(tokens: tokens, batch: queries.count, time: p + R, attentionMask: mask),
                  queryLength: p, responseLength: R)
    }

    /// Sub-batch of the given rows (a PPO minibatch).
    public func rows(_ indices: [Int]) -> QueryResponseBatch {
        let t = batch.time
        var tokens: [Int32] = [], mask: [Int32] = []
        for r in indices {
            tokens += batch.tokens[(r * t)..<((r + 1) * t)]
            mask += batch.attentionMask![(r * t)..<((r + 1) * t)]
        }
        return QueryResponseBatch(batch: TokenBatch(tokens: tokens, batch: indices.count, time: t, attentionMask: mask),
                                  queryLength: queryLength, responseLength: responseLength)
    }

    private init(batch: TokenBatch, queryLength p: Int, responseLength r: Int) {
        precondition(p >= 1 && r >= 1, "QueryResponseBatch: needs at least one query and one response token (P = \(p), R = \(r))")
        self.batch = batch; queryLength = p; responseLength = r
        let t = batch.time, b = batch.batch
        var tokens: [Int32] = [], mask: [Int32] = []
        tokens.reserveCapacity(b * (t - 1)); mask.reserveCapacity(b * (t - 1))
        for row in 0..<b {
            tokens += batch.tokens[(row * t)..<((row + 1) * t - 1)]
            mask += batch.attentionMask![(row * t)..<((row + 1) * t - 1)]
        }
        scoringBatch = TokenBatch(tokens: tokens, batch: b, time: t - 1, attentionMask: mask)
        var positions: [Int] = [], targets: [Int32] = []
        positions.reserveCapacity(b * r); targets.reserveCapacity(b * r)
        for row in 0..<b {
            for tok in 0..<r {
                positions.append(row * (t - 1) + p - 1 + tok)
                targets.append(batch.tokens[row * t + p + tok])
            }
        }
        predictingPositions = positions
        responseTokens = targets
    }

    /// Flat index into the (B, P + R − 1) `scoringBatch` of the position whose output predicts response
    /// token t of row b (and holds the value of the state that emits it).
    @inline(__always) public func predictingPosition(row b: Int, token t: Int) -> Int {
        b * scoringBatch.time + queryLength - 1 + t
    }

    /// The response token t of row b.
    @inline(__always) public func responseToken(row b: Int, token t: Int) -> Int32 {
        batch.tokens[b * batch.time + queryLength + t]
    }
}

/// Log-probs, entropies and values of the response tokens after a forward pass, and the backward step
/// that turns PPO gradients in log-prob/value space back into model gradients.
public enum ResponseScoring {
    public struct Scores: Sendable {
        /// log π(a_t) with the temperature applied, [B × R].
        public var logp: [Float]
        /// Entropy of π(·|s_t), [B × R] (only when asked).
        public var entropy: [Float]?
        /// V(s_t), [B × R] (only for models with a value head).
        public var values: [Float]?
    }

    /// Runs `model` on the batch and reads the response scores. The pass is compact over the positions
    /// that predict response tokens (`QueryResponseBatch.predictingPositions`): the LM head, value head
    /// and the last block's MLP run only there, and the logits are [B × R, V] in (row, token) order.
    public static func score(_ model: GPTModel, _ qr: QueryResponseBatch, temperature: Float,
                             entropy wantEntropy: Bool) -> Scores
    {
        model.forward(qr.scoringBatch, logitRows: .only(qr.predictingPositions))
        let rows = qr.batch.batch * qr.responseLength, v = model.config.vocabSize
        let targets = qr.responseTokens
        var logp = [Float](repeating: 0, count: rows)
        var entropy: [Float]? = wantEntropy ? [Float](repeating: 0, count: rows) : nil
        let logits = UnsafePointer(model.logits.baseAddress!)
        targets.withUnsafeBufferPointer { tg in
            logp.withUnsafeMutableBufferPointer { lp in
                if entropy != nil {
                    entropy!.withUnsafeMutableBufferPointer { e in
                        tokenLogProbs(logProbs: lp.baseAddress!, entropy: e.baseAddress!, logits: logits,
                                      targets: tg.baseAddress!, temperature: temperature, rows: rows, vocab: v)
                    }
                } else {
                    tokenLogProbs(logProbs: lp.baseAddress!, entropy: nil, logits: logits,
                                  targets: tg.baseAddress!, temperature: temperature, rows: rows, vocab: v)
                }
            }
        }
        // The pass is compact: values are already in (row, token) order.
        let values: [Float]? = model.config.valueHead ? Array(model.values) : nil
        return Scores(logp: logp, entropy: entropy, values: values)
    }

    /// Backpropagates ∂L/∂logp [B × R] and ∂L/∂V [B × R] through the model's last forward pass (which must
    /// be `score` on the same batch), accumulating into the model's gradients. The compact logits are
    /// overwritten in place with dLogits.
    public static func backward(_ model: GPTModel, _ qr: QueryResponseBatch, temperature: Float,
                                dLogp: [Float], dValues: [Float]?)
    {
        let rows = qr.batch.batch * qr.responseLength, v = model.config.vocabSize
        precondition(model.logitRows == .only(qr.predictingPositions),
                     "ResponseScoring.backward: the model's last forward was not `score` on this batch")
        precondition(dLogp.count == rows && (dValues == nil || dValues!.count == rows),
                     "ResponseScoring.backward: gradients must have B × R = \(rows) entries")
        let logits = model.logits.baseAddress!
        tokenLogProbsBackward(dLogits: logits, logits: logits, targets: qr.responseTokens, dLogProbs: dLogp,
                              dEntropy: nil, temperature: temperature, rows: rows, vocab: v)
        if let dValues {
            dValues.withUnsafeBufferPointer { model.backward(dLogits: logits, dValues: $0.baseAddress!) }
        } else {
            model.backward(dLogits: logits)
        }
    }
}
