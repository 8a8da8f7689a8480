import Tensor

extension GPTModel {
    /// Backpropagates caller-supplied output gradients through the last forward pass and ACCUMULATES
    /// into `gradients` (call `zeroGradients()` between optimiser steps; accumulate micro-batches).
    ///
    /// - dLogits: shaped as `logits` ([B, T, V], or compact [rows.count, V] after `logitRows: .only(rows)`);
    ///   may be `logits` itself, overwritten in place by a fused loss (then its rows may be reordered by
    ///   this call); nil skips the LM head.
    /// - dValues: [B, T] gradient of the value-head outputs; nil if unused.
    /// - dRewards: [B] gradient of the reward-head outputs; nil if unused.
    public func backward(dLogits: UnsafePointer<Float>? = nil, dValues: UnsafePointer<Float>? = nil,
                         dRewards: UnsafePointer<Float>? = nil) {
        guard let a = current else { preconditionFailure("GPTModel.backward: no forward pass to differentiate") }
        let b = a.batch, t = a.time, c = config.channels, nh = config.heads
        let n = b * t
        let streams = currentDropout
        let dLnf = act(a.dLn)
        if let dLogits {
            lmHeadBackward(dLnf: dLnf, dLogits: dLogits, layout: a)
        } else {
            dLnf.update(repeating: 0, count: n * c)
        }
        if let dValues {
            guard let w = layout.valueWeight, let bias = layout.valueBias else {
                preconditionFailure("GPTModel.backward: dValues given but the model has no value head")
            }
            for row in 0..<n where dValues[row] != 0 {
                let g = dValues[row]
                saxpy(dLnf + row * c, param(w), alpha: g, count: c)
                saxpy(grad(w), act(a.lnf) + row * c, alpha: g, count: c)
                grad(bias)[0] += g
            }
        }
        if let dRewards {
            guard let w = layout.scoreWeight else {
                preconditionFailure("GPTModel.backward: dRewards given but the model has no reward head")
            }
            for row in 0..<b where dRewards[row] != 0 {
                let at = row * t + lastTokenIndices[row]
                saxpy(dLnf + at * c, param(w), alpha: dRewards[row], count: c)
                saxpy(grad(w), act(a.lnf) + at * c, alpha: dRewards[row], count: c)
            }
        }
        let dResidual = act(a.dResidual)
        dResidual.update(repeating: 0, count: n * c)
        let last = a.blocks[config.layers - 1]
        layerNormBackward(dInput: dResidual, dWeight: grad(layout.lnfWeight), dBias: grad(layout.lnfBias),
                          dOut: dLnf, input: act(last.residual3), weight: param(layout.lnfWeight),
                          mean: act(a.lnfMean), rstd: act(a.lnfRstd), rows: n, channels: c)

        let dLn = act(a.dLn), dBranch = act(a.dBranch), dAtty = act(a.dAtty), dqkv = act(a.dqkv), dFch = act(a.dFch), dFchGelu = act(a.dFchGelu)
        for l in stride(from: config.layers - 1, through: 0, by: -1) {
            let p = layout.blocks[l], s = a.blocks[l]
            let residual = l == 0 ? act(a.encoded) : act(a.blocks[l - 1].residual3)

            // residual3 = residual2 + drop(c_proj(gelu(c_fc(ln_2(residual2)))))
            var dOut = UnsafePointer(dResidual)
            if let mask = streams?.mask(streams!.residual, layer: l, site: 3) {
                dBranch.update(from: dResidual, count: n * c)
                mask.apply(dBranch, count: n * c)
                dOut = UnsafePointer(dBranch)
            }
            linearBackward(dInput: dFchGelu, dWeight: grad(p.fcProjWeight), dBias: grad(p.fcProjBias), dOut: dOut,
                           input: act(s.fchGelu), weight: param(p.fcProjWeight), rows: n, inChannels: 4 * c, outChannels: c)
            geluBackward(dInput: dFch, dOut: dFchGelu, input: act(s.fch), count: 4 * n * c)
            linearBackward(dInput: dLn, dWeight: grad(p.fcWeight), dBias: grad(p.fcBias), dOut: dFch,
                           input: act(s.ln2), weight: param(p.fcWeight), rows: n, inChannels: c, outChannels: 4 * c)
            layerNormBackward(dInput: dResidual, dWeight: grad(p.ln2Weight), dBias: grad(p.ln2Bias), dOut: dLn,
                              input: act(s.residual2), weight: param(p.ln2Weight), mean: act(s.ln2Mean),
                              rstd: act(s.ln2Rstd), rows: n, channels: c)

            // residual2 = residual + drop(c_proj(attention(c_attn(ln_1(residual)))))
            dOut = UnsafePointer(dResidual)
            if let mask = streams?.mask(streams!.residual, layer: l, site: 2) {
                dBranch.update(from: dResidual, count: n * c)
                mask.apply(dBranch, count: n * c)
                dOut = UnsafePointer(dBranch)
            }
            linearBackward(dInput: dAtty, dWeight: grad(p.attnProjWeight), dBias: grad(p.attnProjBias), dOut: dOut,
                           input: act(s.atty), weight: param(p.attnProjWeight), rows: n, inChannels: c, outChannels: c)
            attentionBackward(dqkv: dqkv, dOut: dAtty, probs: act(s.probs), qkv: act(s.qkv),
                              dropout: streams?.mask(streams!.attention, layer: l, site: 1),
                              scratch1: act(a.attnScratch1), scratch2: act(a.attnScratch2),
                              batch: b, time: t, channels: c, heads: nh)
            linearBackward(dInput: dLn, dWeight: grad(p.qkvWeight), dBias: grad(p.qkvBias), dOut: dqkv,
                           input: act(s.ln1), weight: param(p.qkvWeight), rows: n, inChannels: c, outChannels: 3 * c)
            layerNormBackward(dInput: dResidual, dWeight: grad(p.ln1Weight), dBias: grad(p.ln1Bias), dOut: dLn,
                              input: residual, weight: param(p.ln1Weight), mean: act(s.ln1Mean),
                              rstd: act(s.ln1Rstd), rows: n, channels: c)
        }
        streams?.mask(streams!.embedding, layer: 0, site: 0)?.apply(dResidual, count: n * c)
        embeddingBackward(dWte: grad(layout.tokenEmbedding), dWpe: grad(layout.positionEmbedding), dOut: dResidual,
                          tokens: tokens.pointer, positions: positions.pointer, rows: n, channels: c)
    }

    /// logits = lnf · wteᵀ  ⇒  dlnf = dLogits · wte ; dwte += dLogitsᵀ · lnf.
    ///
    /// Losses that only touch some positions (PPO's response tokens, SFT's completion mask) leave
    /// zero rows in dLogits. When dLogits is the model's own logits buffer and at least a quarter of
    /// its rows are zero, the live rows are compacted to the front (in place) and only they enter
    /// the two LM-head products, the largest GEMMs of a small-vocabulary-heavy model.
    /// After a compact forward (`.only(rows)`) the selected rows are already gathered: the products run
    /// on them directly and dlnf is scattered back.
    private func lmHeadBackward(dLnf: UnsafeMutablePointer<Float>, dLogits: UnsafePointer<Float>, layout a: ActivationLayout) {
        let n = a.batch * a.time, c = config.channels, v = config.vocabSize
        let wte = param(layout.tokenEmbedding), dWte = grad(layout.tokenEmbedding), lnf = act(a.lnf)
        switch a.logitRows {
        case .none, .all:
            break   // dLogits is [B, T, V] (a caller's buffer when the forward skipped the LM head)
        case .only(let rows):
            dLnf.update(repeating: 0, count: n * c)
            let m = rows.count, dHidden = act(a.dLogitHidden)
            sgemm(m: m, n: c, k: v, a: dLogits, lda: v, b: wte, ldb: c, c: dHidden, ldc: c)
            sgemm(transA: true, m: v, n: c, k: m, a: dLogits, lda: v, b: act(a.logitHidden), ldb: c, beta: 1, c: dWte, ldc: c)
            // Accumulate rather than copy: a position may be selected more than once.
            for (i, row) in rows.enumerated() { accumulate(dLnf + row * c, dHidden + i * c, count: c) }
            return
        }
        var live: [Int] = []
        let ownBuffer = a.hasLogits && dLogits == UnsafePointer(act(a.logits))
        if ownBuffer {
            live.reserveCapacity(n)
            for row in 0..<n {
                let r = dLogits + row * v
                var nonzero = false
                for j in 0..<v where r[j] != 0 { nonzero = true; break }
                if nonzero { live.append(row) }
            }
        }
        guard ownBuffer, live.count * 4 <= n * 3 else {
            sgemm(m: n, n: c, k: v, a: dLogits, lda: v, b: wte, ldb: c, c: dLnf, ldc: c)
            sgemm(transA: true, m: v, n: c, k: n, a: dLogits, lda: v, b: lnf, ldb: c, beta: 1, c: dWte, ldc: c)
            return
        }
        dLnf.update(repeating: 0, count: n * c)
        if live.isEmpty { return }
        // Compact live gradient rows (destination ≤ source, so front-to-back copying is safe) and
        // gather their hidden states into free backward scratch.
        let compact = act(a.logits), hidden = act(a.dBranch), dHidden = act(a.dAtty)
        for (i, row) in live.enumerated() {
            if i != row { (compact + i * v).update(from: compact + row * v, count: v) }
            (hidden + i * c).update(from: lnf + row * c, count: c)
        }
        let m = live.count
        sgemm(m: m, n: c, k: v, a: compact, lda: v, b: wte, ldb: c, c: dHidden, ldc: c)
        sgemm(transA: true, m: v, n: c, k: m, a: compact, lda: v, b: hidden, ldb: c, beta: 1, c: dWte, ldc: c)
        for (i, row) in live.enumerated() { (dLnf + row * c).update(from: dHidden + i * c, count: c) }
    }
}
