import Tensor

extension GPTModel {
    /// Backpropagates caller-supplied output gradients through the last forward pass and ACCUMULATES
    /// into `gradients` (call `zeroGradients()` between optimiser steps; accumulate micro-batches).
    ///
    /// - dLogits: shaped as `logits` ([B, T, V], or compact [rows.count, V] after `logitRows: .only(rows)`);
    ///   may be `logits` itself, overwritten in place by a fused loss (then its rows may be reordered by
    ///   this call); nil skips the LM head.
    /// - dValues: shaped as `values` ([B, T], or compact [rows.count]); nil if unused.
    /// - dRewards: [B] gradient of the reward-head outputs; nil if unused (not after a compact pass).
    public func backward(dLogits: UnsafePointer<Float>? = nil, dValues: UnsafePointer<Float>? = nil,
                         dRewards: UnsafePointer<Float>? = nil) {
        guard let a = current else { preconditionFailure("GPTModel.backward: no forward pass to differentiate") }
        let b = a.batch, t = a.time, c = config.channels, nh = config.heads
        let n = b * t, outputRows = a.outputRows
        let compactRows: [Int]? = if case .only(let rows) = a.logitRows { rows } else { nil }
        let streams = currentDropout
        // Stale gradients: the block matrices (and the LM head, when dLogits comes) are overwritten by
        // their products below; every other tensor is zeroed here and accumulated into as usual.
        let fresh = gradientsStale
        gradientsStale = false
        let accumulateWeights = !fresh
        if fresh {
            var overwritten = Set(layout.blocks.flatMap { [$0.qkvWeight, $0.attnProjWeight, $0.fcWeight, $0.fcProjWeight] })
            if dLogits != nil { overwritten.insert(layout.lmHead) }
            for tensor in layout.tensors where !overwritten.contains(tensor.offset) {
                grad(tensor.offset).update(repeating: 0, count: tensor.count)
            }
        }
        let dLnf = act(a.dLn)
        if let dLogits {
            lmHeadBackward(dLnf: dLnf, dLogits: dLogits, layout: a, accumulate: accumulateWeights)
        } else {
            dLnf.update(repeating: 0, count: outputRows * c)
        }
        if let dValues {
            guard let w = layout.valueWeight, let bias = layout.valueBias else {
                preconditionFailure("GPTModel.backward: dValues given but the model has no value head")
            }
            for row in 0..<outputRows where dValues[row] != 0 {
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
            precondition(compactRows == nil, "GPTModel.backward: dRewards after a compact (logitRows: .only) pass")
            for row in 0..<b where dRewards[row] != 0 {
                let at = row * t + lastTokenIndices[row]
                saxpy(dLnf + at * c, param(w), alpha: dRewards[row], count: c)
                saxpy(grad(w), act(a.lnf) + at * c, alpha: dRewards[row], count: c)
            }
        }
        let dResidual = act(a.dResidual)
        dResidual.update(repeating: 0, count: outputRows * c)
        let last = a.blocks[config.layers - 1]
        layerNormBackward(dInput: dResidual, dWeight: grad(layout.lnfWeight), dBias: grad(layout.lnfBias),
                          dOut: dLnf, input: act(last.residual3), weight: param(layout.lnfWeight),
                          mean: act(a.lnfMean), rstd: act(a.lnfRstd), rows: outputRows, channels: c)

        let dLn = act(a.dLn), dBranch = act(a.dBranch), dAtty = act(a.dAtty), dqkv = act(a.dqkv), dFch = act(a.dFch), dFchGelu = act(a.dFchGelu)
        for l in stride(from: config.layers - 1, through: 0, by: -1) {
            let p = layout.blocks[l], s = a.blocks[l]
            let residual = l == 0 ? act(a.encoded) : act(a.blocks[l - 1].residual3)
            // A compact pass ran the last block's projection and MLP on r compact rows (see forward).
            let tailRows = l == config.layers - 1 ? compactRows : nil
            let r = tailRows?.count ?? n

            // residual3 = residual2 + drop(c_proj(gelu(c_fc(ln_2(residual2)))))
            var dOut = UnsafePointer(dResidual)
            if let mask = streams?.mask(streams!.residual, layer: l, site: 3) {
                dBranch.update(from: dResidual, count: r * c)
                mask.apply(dBranch, count: r * c)
                dOut = UnsafePointer(dBranch)
            }
            linearBackward(dInput: dFchGelu, dWeight: grad(p.fcProjWeight), dBias: grad(p.fcProjBias), dOut: dOut,
                           input: act(s.fchGelu), weight: param(p.fcProjWeight), rows: r, inChannels: config.mlpChannels, outChannels: c,
                           accumulateWeight: accumulateWeights)
            config.activation.backward(dInput: dFch, dOut: dFchGelu, input: act(s.fch), count: r * config.mlpChannels)
            linearBackward(dInput: dLn, dWeight: grad(p.fcWeight), dBias: grad(p.fcBias), dOut: dFch,
                           input: act(s.ln2), weight: param(p.fcWeight), rows: r, inChannels: c, outChannels: config.mlpChannels,
                           accumulateWeight: accumulateWeights)
            layerNormBackward(dInput: dResidual, dWeight: grad(p.ln2Weight), dBias: grad(p.ln2Bias), dOut: dLn,
                              input: act(s.residual2), weight: param(p.ln2Weight), mean: act(s.ln2Mean),
                              rstd: act(s.ln2Rstd), rows: r, channels: c)

            // residual2 = residual + drop(c_proj(attention(c_attn(ln_1(residual)))))
            dOut = UnsafePointer(dResidual)
            if let mask = streams?.mask(streams!.residual, layer: l, site: 2) {
                dBranch.update(from: dResidual, count: r * c)
                mask.apply(dBranch, count: r * c)
                dOut = UnsafePointer(dBranch)
            }
            linearBackward(dInput: tailRows == nil ? dAtty : act(a.dTailAtty), dWeight: grad(p.attnProjWeight),
                           dBias: grad(p.attnProjBias), dOut: dOut, input: act(tailRows == nil ? s.atty : a.tailAtty),
                           weight: param(p.attnProjWeight), rows: r, inChannels: c, outChannels: c,
                           accumulateWeight: accumulateWeights)
            if let rows = tailRows {
                // Back to every position: scatter the compact gradients of the attention output and of
                // the residual stream (zero at unselected positions; repeated rows add up).
                dAtty.update(repeating: 0, count: n * c)
                dBranch.update(from: dResidual, count: r * c)
                dResidual.update(repeating: 0, count: n * c)
                for (i, row) in rows.enumerated() {
                    accumulate(dAtty + row * c, act(a.dTailAtty) + i * c, count: c)
                    accumulate(dResidual + row * c, dBranch + i * c, count: c)
                }
            }
            attentionBackward(dqkv: dqkv, dOut: dAtty, probs: act(s.probs), qkv: act(s.qkv),
                              dropout: streams?.mask(streams!.attention, layer: l, site: 1),
                              scratch1: act(a.attnScratch1), scratch2: act(a.attnScratch2),
                              batch: b, time: t, channels: c, heads: nh, scale: config.attentionScale(layer: l))
            linearBackward(dInput: dLn, dWeight: grad(p.qkvWeight), dBias: grad(p.qkvBias), dOut: dqkv,
                           input: act(s.ln1), weight: param(p.qkvWeight), rows: n, inChannels: c, outChannels: 3 * c,
                           accumulateWeight: accumulateWeights)
            layerNormBackward(dInput: dResidual, dWeight: grad(p.ln1Weight), dBias: grad(p.ln1Bias), dOut: dLn,
                              input: residual, weight: param(p.ln1Weight), mean: act(s.ln1Mean),
                              rstd: act(s.ln1Rstd), rows: n, channels: c)
        }
        streams?.mask(streams!.embedding, layer: 0, site: 0)?.apply(dResidual, count: n * c)
        embeddingBackward(dWte: grad(layout.tokenEmbedding), dWpe: grad(layout.positionEmbedding), dOut: dResidual,
                          tokens: tokens.pointer, positions: positions.pointer, rows: n, channels: c)
    }

    /// logits = lnf · Wᵀ  ⇒  dlnf = dLogits · W ; dW += dLogitsᵀ · lnf  (W = wte when tied, else lm_head).
    ///
    /// Losses that only touch some positions (PPO's response tokens, SFT's completion mask) leave
    /// zero rows in dLogits. When dLogits is the model's own logits buffer and at least a quarter of
    /// its rows are zero, the live rows are compacted to the front (in place) and only they enter
    /// the two LM-head products, the largest GEMMs of a small-vocabulary-heavy model.
    /// After a compact forward (`.only(rows)`) the products run on the compact rows directly.
    /// `accumulate: false` overwrites dW (stale gradients; see `gradientsStale`).
    private func lmHeadBackward(dLnf: UnsafeMutablePointer<Float>, dLogits: UnsafePointer<Float>, layout a: ActivationLayout,
                                accumulate: Bool) {
        let n = a.batch * a.time, c = config.channels, v = config.vocabSize
        let wte = param(layout.lmHead), dWte = grad(layout.lmHead), lnf = act(a.lnf)
        let beta: Float = accumulate ? 1 : 0
        switch a.logitRows {
        case .none, .all:
            break   // dLogits is [B, T, V] (a caller's buffer when the forward skipped the LM head)
        case .only(let rows):
            // Compact pass: ln_f's output is already compact, and so is dlnf.
            sgemm(m: rows.count, n: c, k: v, a: dLogits, lda: v, b: wte, ldb: c, c: dLnf, ldc: c)
            sgemm(transA: true, m: v, n: c, k: rows.count, a: dLogits, lda: v, b: lnf, ldb: c, beta: beta, c: dWte, ldc: c)
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
            sgemm(transA: true, m: v, n: c, k: n, a: dLogits, lda: v, b: lnf, ldb: c, beta: beta, c: dWte, ldc: c)
            return
        }
        dLnf.update(repeating: 0, count: n * c)
        if live.isEmpty {
            if !accumulate { dWte.update(repeating: 0, count: v * c) }
            return
        }
        // Compact live gradient rows (destination ≤ source, so front-to-back copying is safe) and
        // gather their hidden states into free backward scratch.
        let compact = act(a.logits), hidden = act(a.dBranch), dHidden = act(a.dAtty)
        for (i, row) in live.enumerated() {
            if i != row { (compact + i * v).update(from: compact + row * v, count: v) }
            (hidden + i * c).update(from: lnf + row * c, count: c)
        }
        let m = live.count
        sgemm(m: m, n: c, k: v, a: compact, lda: v, b: wte, ldb: c, c: dHidden, ldc: c)
        sgemm(transA: true, m: v, n: c, k: m, a: compact, lda: v, b: hidden, ldb: c, beta: beta, c: dWte, ldc: c)
        for (i, row) in live.enumerated() { (dLnf + row * c).update(from: dHidden + i * c, count: c) }
    }
}
