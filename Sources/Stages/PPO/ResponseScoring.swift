import Models
import Tensor

/// Queries (left-padded to a common length P) followed by fixed-length responses of R tokens, as one
/// (B, P + R) batch. Response tokens after an EOS are masked out of attention, so the reward head reads
/// the last real token and padding never influences real positions.
public struct QueryResponseBatch: Sendable {
    public let batch: TokenBatch
    public let queryLength: Int
    public let responseLength: Int

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
        batch = TokenBatch(tokens: tokens, batch: queries.count, time: p + R, attentionMask: mask)
        queryLength = p
        responseLength = R
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

    private init(batch: TokenBatch, queryLength: Int, responseLength: Int) {
        self.batch = batch; self.queryLength = queryLength; self.responseLength = responseLength
    }

    /// Flat index into [B, T] of the position whose output predicts response token t of row b (and holds
    /// the value of the state that emits it).
    @inline(__always) public func predictingPosition(row b: Int, token t: Int) -> Int {
        b * batch.time + queryLength - 1 + t
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

    /// Runs `model` on the batch and reads the response scores.
    public static func score(_ model: GPTModel, _ qr: QueryResponseBatch, temperature: Float,
                             entropy wantEntropy: Bool) -> Scores
    {
        model.forward(qr.batch)
        let b = qr.batch.batch, r = qr.responseLength, v = model.config.vocabSize
        let rows = b * r
        var gathered = [Float](repeating: 0, count: rows * v)
        var targets = [Int32](repeating: 0, count: rows)
        let logits = model.logits
        gathered.withUnsafeMutableBufferPointer { g in
            for row in 0..<b {
                for t in 0..<r {
                    let src = logits.baseAddress! + qr.predictingPosition(row: row, token: t) * v
                    (g.baseAddress! + (row * r + t) * v).update(from: src, count: v)
                    targets[row * r + t] = qr.responseToken(row: row, token: t)
                }
            }
        }
        var logp = [Float](repeating: 0, count: rows)
        var entropy: [Float]? = wantEntropy ? [Float](repeating: 0, count: rows) : nil
        gathered.withUnsafeBufferPointer { g in
            targets.withUnsafeBufferPointer { tg in
                logp.withUnsafeMutableBufferPointer { lp in
                    if entropy != nil {
                        entropy!.withUnsafeMutableBufferPointer { e in
                            tokenLogProbs(logProbs: lp.baseAddress!, entropy: e.baseAddress!, logits: g.baseAddress!,
                                          targets: tg.baseAddress!, temperature: temperature, rows: rows, vocab: v)
                        }
                    } else {
                        tokenLogProbs(logProbs: lp.baseAddress!, entropy: nil, logits: g.baseAddress!,
                                      targets: tg.baseAddress!, temperature: temperature, rows: rows, vocab: v)
                    }
                }
            }
        }
        var values: [Float]?
        if model.config.valueHead {
            let all = model.values
            values = (0..<rows).map { i in all[qr.predictingPosition(row: i / r, token: i % r)] }
        }
        return Scores(logp: logp, entropy: entropy, values: values)
    }

    /// Backpropagates ∂L/∂logp [B × R] and ∂L/∂V [B × R] through the model's last forward pass (which must
    /// be `score` on the same batch), accumulating into the model's gradients.
    public static func backward(_ model: GPTModel, _ qr: QueryResponseBatch, temperature: Float,
                                dLogp: [Float], dValues: [Float]?)
    {
        let b = qr.batch.batch, r = qr.responseLength, v = model.config.vocabSize, t = qr.batch.time
        let logits = model.logits
        // Gradients for the response rows go into a scratch buffer first (the kernel reads the logits),
        // then the logits buffer becomes dLogits: zero everywhere except those rows.
        var dRows = [Float](repeating: 0, count: b * r * v)
        var gathered = [Float](repeating: 0, count: b * r * v)
        var targets = [Int32](repeating: 0, count: b * r)
        for row in 0..<b {
            for tok in 0..<r {
                let src = logits.baseAddress! + qr.predictingPosition(row: row, token: tok) * v
                gathered.withUnsafeMutableBufferPointer { ($0.baseAddress! + (row * r + tok) * v).update(from: src, count: v) }
                targets[row * r + tok] = qr.responseToken(row: row, token: tok)
            }
        }
        dRows.withUnsafeMutableBufferPointer { d in
            tokenLogProbsBackward(dLogits: d.baseAddress!, logits: gathered, targets: targets, dLogProbs: dLogp,
                                  dEntropy: nil, temperature: temperature, rows: b * r, vocab: v)
        }
        logits.baseAddress!.update(repeating: 0, count: b * t * v)
        dRows.withUnsafeBufferPointer { d in
            for row in 0..<b {
                for tok in 0..<r {
                    (logits.baseAddress! + qr.predictingPosition(row: row, token: tok) * v)
                        .update(from: d.baseAddress! + (row * r + tok) * v, count: v)
                }
            }
        }
        var dV: [Float]?
        if let dValues {
            var full = [Float](repeating: 0, count: b * t)
            for i in 0..<(b * r) { full[qr.predictingPosition(row: i / r, token: i % r)] = dValues[i] }
            dV = full
        }
        if let dV {
            dV.withUnsafeBufferPointer { model.backward(dLogits: logits.baseAddress!, dValues: $0.baseAddress!) }
        } else {
            model.backward(dLogits: logits.baseAddress!)
        }
    }
}
