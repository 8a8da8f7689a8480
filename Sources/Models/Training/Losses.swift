import Tensor

extension GPTModel {
    /// Next-token cross-entropy over the last forward's logits, fused with its gradient.
    ///
    /// `targets` [B, T] are the tokens each position should predict (usually the input shifted left);
    /// `lossMask` [B, T] (1 = count, 0 = ignore, e.g. prompt or padding) selects positions. Returns the
    /// mean loss over counted positions, multiplied by `scale` (use 1/k for k accumulation micro-batches),
    /// and OVERWRITES `logits` with dLoss/dLogits, ready for `backward(dLogits: logits.baseAddress)`.
    /// With `computeGradient: false` only the loss is returned and the logits stay intact.
    public func crossEntropy(targets: [Int32], lossMask: [Float]? = nil, scale: Float = 1, computeGradient: Bool = true) -> Float {
        let out = logits
        let n = targets.count, v = config.vocabSize
        precondition(out.count == n * v, "crossEntropy: \(n) targets for \(out.count / v) positions")
        var weights = lossMask ?? [Float](repeating: 1, count: n)
        precondition(weights.count == n, "crossEntropy: loss mask has \(weights.count) entries, expected \(n)")
        let counted = weights.reduce(0, +)
        if counted == 0 {
            if computeGradient { out.update(repeating: 0) }
            return 0
        }
        for i in 0..<n { weights[i] *= scale / counted }
        let loss = targets.withUnsafeBufferPointer { t in
            weights.withUnsafeBufferPointer { w in
                crossEntropyForwardBackward(dLogits: computeGradient ? out.baseAddress! : nil, logits: out.baseAddress!,
                                            targets: t.baseAddress!, weights: w.baseAddress!, rows: n, vocab: v)
            }
        }
        return Float(loss)
    }

    /// Log-probabilities [B, T] of `targets` under softmax(logits / temperature) of the last forward, and
    /// the per-position entropy [B, T] of that distribution.
    public func tokenLogProbabilities(targets: [Int32], temperature: Float = 1) -> (logProbs: [Float], entropy: [Float]) {
        let out = logits
        let n = targets.count, v = config.vocabSize
        precondition(out.count == n * v, "tokenLogProbabilities: \(n) targets for \(out.count / v) positions")
        var lp = [Float](repeating: 0, count: n), ent = [Float](repeating: 0, count: n)
        targets.withUnsafeBufferPointer { t in
            lp.withUnsafeMutableBufferPointer { l in
                ent.withUnsafeMutableBufferPointer { e in
                    tokenLogProbs(logProbs: l.baseAddress!, entropy: e.baseAddress!, logits: out.baseAddress!,
                                  targets: t.baseAddress!, temperature: temperature, rows: n, vocab: v)
                }
            }
        }
        return (lp, ent)
    }

    /// Turns upstream gradients of per-token log-probs (and optionally entropies) into dLogits,
    /// OVERWRITING `logits`; then call `backward(dLogits: logits.baseAddress, …)`. This is the PPO
    /// policy-loss path: compute the loss from `tokenLogProbabilities`, differentiate it by hand to
    /// dLoss/dlogp, pass that here. Positions with zero gradients contribute nothing.
    public func logProbabilityBackward(targets: [Int32], dLogProbs: [Float], dEntropy: [Float]? = nil, temperature: Float = 1) {
        let out = logits
        let n = targets.count, v = config.vocabSize
        precondition(out.count == n * v && dLogProbs.count == n && (dEntropy == nil || dEntropy!.count == n),
                     "logProbabilityBackward: sizes do not match the last forward (\(out.count / v) positions)")
        targets.withUnsafeBufferPointer { t in
            dLogProbs.withUnsafeBufferPointer { g in
                let run = { (e: UnsafePointer<Float>?) in
                    tokenLogProbsBackward(dLogits: out.baseAddress!, logits: out.baseAddress!, targets: t.baseAddress!,
                                          dLogProbs: g.baseAddress!, dEntropy: e, temperature: temperature, rows: n, vocab: v)
                }
                if let dEntropy { dEntropy.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
            }
        }
    }
}
