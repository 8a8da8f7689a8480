import Tensor

extension GPTModel {
    /// Next-token cross-entropy over the last forward's logits, fused with its gradient.
    ///
    /// `targets` [B, T] are the tokens each position should predict (usually the input shifted left);
    /// `lossMask` [B, T] (1 = count, 0 = ignore, e.g. prompt or padding) selects positions. Returns the
    /// mean loss over counted positions, multiplied by `scale` (use 1/k for k accumulation micro-batches),
    /// and OVERWRITES `logits` with dLoss/dLogits, ready for `backward(dLogits: logits.baseAddress)`.
    /// With `computeGradient: false` only the loss is returned and the logits stay intact.
    /// `normalizer` replaces the mask's sum as the divisor: a shard of a batch passes the whole batch's
    /// count, so the shards' losses and gradients add up to the batch's.
    public func crossEntropy(targets: [Int32], lossMask: [Float]? = nil, scale: Float = 1, normalizer: Float? = nil,
                             computeGradient: Bool = true) -> Float {
        let out = logits
        let n = targets.count, v = config.vocabSize
        precondition(out.count == n * v, "crossEntropy: \(n) targets for \(out.count / v) positions")
        var weights = lossMask ?? [Float](repeating: 1, count: n)
        precondition(weights.count == n, "crossEntropy: loss mask has \(weights.count) entries, expected \(n)")
        let counted = normalizer ?? weights.reduce(0, +)
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
}
