import Tensor

extension GPTModel {
    /// Runs the model over a (B, T) batch and keeps every activation backward needs.
    ///
    /// Afterwards: `logits` [B, T, V] (when `computeLogits`), `hiddenStates` [B, T, C] (after ln_f),
    /// `values` [B, T] (value head), `rewards` [B] (reward head at the last real token).
    /// Skip the LM head (`computeLogits: false`) for reward/value-only passes: it is the largest GEMM.
    /// `dropout: true` applies the config's dropout with fresh, seed-determined masks.
    public func forward(_ batch: TokenBatch, computeLogits: Bool = true, dropout: Bool = false) {
        forward(batch, logitRows: computeLogits ? .all : .none, dropout: dropout)
    }

    /// As `forward(_:computeLogits:dropout:)`, with the LM head applied only at the positions `logitRows`
    /// selects. `.only(rows)` (flat indices b·T + t, any order, repeats allowed) is a compact pass: the
    /// last block's projection and MLP, ln_f and the heads run only at those rows, so `logits` is
    /// [rows.count, V], `values` [rows.count] and `hiddenStates` [rows.count, C], row i holding position
    /// rows[i]; `backward` takes dLogits and dValues in the same compact shapes; no reward head.
    public func forward(_ batch: TokenBatch, logitRows: LogitRows, dropout: Bool = false) {
        let b = batch.batch, t = batch.time, c = config.channels, v = config.vocabSize, nh = config.heads
        let n = b * t
        precondition(b > 0 && t > 0, "forward: empty batch (\(b), \(t))")
        precondition(t <= config.maxPositions, "forward: sequence length \(t) exceeds n_positions \(config.maxPositions)")
        if case .only(let rows) = logitRows {
            for (i, row) in rows.enumerated() where row < 0 || row >= n {
                preconditionFailure("forward: logit row \(row) (entry \(i)) outside 0..<\(n) for shape (\(b), \(t))")
            }
        }
        let a = reserve(batch: b, time: t, logitRows: logitRows)
        current = a

        tokens.assign(batch.tokens)
        for i in 0..<n where tokens[i] < 0 || Int(tokens[i]) >= v {
            preconditionFailure("forward: token id \(tokens[i]) at index \(i) outside vocabulary 0..<\(v)")
        }
        hasMask = batch.attentionMask != nil
        if let m = batch.attentionMask { mask.assign(m) } else { mask.resize(0) }
        if let p = batch.positions {
            positions.assign(p)
        } else {
            positions.resize(n)
            for row in 0..<b {
                var next: Int32 = 0
                for i in 0..<t {
                    let real = !hasMask || mask[row * t + i] != 0
                    positions[row * t + i] = real ? next : 0
                    if real { next += 1 }
                }
            }
        }
        for i in 0..<n where positions[i] < 0 || Int(positions[i]) >= config.maxPositions {
            preconditionFailure("forward: position id \(positions[i]) outside 0..<\(config.maxPositions)")
        }
        lastTokenIndices = batch.lastTokenIndices

        var streams: DropoutStreams?
        if dropout && (config.embeddingDropout > 0 || config.residualDropout > 0 || config.attentionDropout > 0) {
            streams = DropoutStreams(generator: Philox(seed: dropoutSeed), pass: dropoutPasses,
                                     embedding: config.embeddingDropout, residual: config.residualDropout,
                                     attention: config.attentionDropout)
            dropoutPasses += 1
        }
        currentDropout = streams

        embeddingForward(out: act(a.encoded), tokens: tokens.pointer, positions: positions.pointer,
                         wte: param(layout.tokenEmbedding), wpe: param(layout.positionEmbedding), rows: n, channels: c)
        streams?.mask(streams!.embedding, layer: 0, site: 0)?.apply(act(a.encoded), count: n * c)

        let keyMask: UnsafePointer<Int32>? = hasMask ? UnsafePointer(mask.pointer) : nil
        let compactRows: [Int]? = if case .only(let rows) = logitRows { rows } else { nil }
        for l in 0..<config.layers {
            let p = layout.blocks[l], s = a.blocks[l]
            let residual = l == 0 ? act(a.encoded) : act(a.blocks[l - 1].residual3)
            let branch = act(a.dBranch)
            layerNormForward(out: act(s.ln1), mean: act(s.ln1Mean), rstd: act(s.ln1Rstd), input: residual,
                             weight: param(p.ln1Weight), bias: param(p.ln1Bias), rows: n, channels: c,
                             epsilon: config.layerNormEpsilon)
            linearForward(out: act(s.qkv), input: act(s.ln1), weight: param(p.qkvWeight), bias: param(p.qkvBias),
                          rows: n, inChannels: c, outChannels: 3 * c)
            attentionForward(out: act(s.atty), probs: act(s.probs), qkv: act(s.qkv), keyMask: keyMask,
                             dropout: streams?.mask(streams!.attention, layer: l, site: 1),
                             scratch: act(a.attnScratch1), batch: b, time: t, channels: c, heads: nh,
                             scale: config.attentionScale(layer: l))
            // A compact pass needs the last block's output only at the selected rows: every position still
            // feeds attention (keys and values), but the projection, MLP and ln_f run on the r selected
            // rows, gathered into compact buffers (row i = position rows[i]).
            var r = n, attentionOut = act(s.atty), residualIn = residual
            if let rows = compactRows, l == config.layers - 1 {
                r = rows.count
                attentionOut = act(a.tailAtty)
                residualIn = act(s.residual2)
                for (i, row) in rows.enumerated() {
                    (attentionOut + i * c).update(from: act(s.atty) + row * c, count: c)
                    (residualIn + i * c).update(from: residual + row * c, count: c)
                }
            }
            linearForward(out: branch, input: attentionOut, weight: param(p.attnProjWeight), bias: param(p.attnProjBias),
                          rows: r, inChannels: c, outChannels: c)
            streams?.mask(streams!.residual, layer: l, site: 2)?.apply(branch, count: r * c)
            add(out: act(s.residual2), residualIn, branch, count: r * c)

            layerNormForward(out: act(s.ln2), mean: act(s.ln2Mean), rstd: act(s.ln2Rstd), input: act(s.residual2),
                             weight: param(p.ln2Weight), bias: param(p.ln2Bias), rows: r, channels: c,
                             epsilon: config.layerNormEpsilon)
            linearForward(out: act(s.fch), input: act(s.ln2), weight: param(p.fcWeight), bias: param(p.fcBias),
                          rows: r, inChannels: c, outChannels: config.mlpChannels)
            config.activation.forward(out: act(s.fchGelu), input: act(s.fch), count: r * config.mlpChannels)
            linearForward(out: branch, input: act(s.fchGelu), weight: param(p.fcProjWeight), bias: param(p.fcProjBias),
                          rows: r, inChannels: config.mlpChannels, outChannels: c)
            streams?.mask(streams!.residual, layer: l, site: 3)?.apply(branch, count: r * c)
            add(out: act(s.residual3), act(s.residual2), branch, count: r * c)
        }
        let outputRows = a.outputRows
        layerNormForward(out: act(a.lnf), mean: act(a.lnfMean), rstd: act(a.lnfRstd),
                         input: act(a.blocks[config.layers - 1].residual3),
                         weight: param(layout.lnfWeight), bias: param(layout.lnfBias), rows: outputRows, channels: c,
                         epsilon: config.layerNormEpsilon)
        // LM head: logits = ln_f(x) · Wᵀ, W = wte when tied (over the compact rows after `.only`).
        if logitRows != .none {
            sgemm(transB: true, m: outputRows, n: v, k: c, a: act(a.lnf), lda: c, b: param(layout.lmHead), ldb: c,
                  c: act(a.logits), ldc: v)
        }
        if let w = layout.valueWeight, let bias = layout.valueBias {
            let out = act(a.values)
            for row in 0..<outputRows { out[row] = sdot(act(a.lnf) + row * c, param(w), count: c) + param(bias)[0] }
        }
        // The reward head reads each row's last real token, which a compact pass need not have computed.
        if let w = layout.scoreWeight, compactRows == nil {
            let out = act(a.rewards)
            for row in 0..<b {
                out[row] = sdot(act(a.lnf) + (row * t + lastTokenIndices[row]) * c, param(w), count: c)
            }
        }
    }

    private var requireForward: ActivationLayout {
        guard let a = current else { preconditionFailure("GPTModel: no forward pass yet") }
        return a
    }

    /// Logits of the last forward pass: [B, T, V], or [rows.count, V] after `logitRows: .only(rows)`.
    /// Writable: a fused loss may overwrite it with dLogits and pass it straight back to `backward`.
    public var logits: UnsafeMutableBufferPointer<Float> {
        let a = requireForward
        precondition(a.hasLogits, "GPTModel.logits: the last forward ran without the LM head")
        return UnsafeMutableBufferPointer(start: act(a.logits), count: a.logitRowCount * config.vocabSize)
    }

    /// Which positions the last forward pass computed logits for.
    public var logitRows: LogitRows { requireForward.logitRows }

    /// Final hidden states [B, T, C] (after ln_f) of the last forward pass; compact [rows.count, C] after `.only(rows)`.
    public var hiddenStates: UnsafeBufferPointer<Float> {
        let a = requireForward
        return UnsafeBufferPointer(start: act(a.lnf), count: a.outputRows * config.channels)
    }

    /// Value-head outputs [B, T] of the last forward pass (requires `config.valueHead`); compact
    /// [rows.count] after `.only(rows)`.
    public var values: UnsafeBufferPointer<Float> {
        let a = requireForward
        precondition(config.valueHead, "GPTModel.values: the model has no value head")
        return UnsafeBufferPointer(start: act(a.values), count: a.outputRows)
    }

    /// Reward-head outputs [B] at each row's last real token (requires `config.rewardHead`; not after a
    /// compact `.only(rows)` pass, which computes the last block only at the selected rows).
    public var rewards: UnsafeBufferPointer<Float> {
        let a = requireForward
        precondition(config.rewardHead, "GPTModel.rewards: the model has no reward head")
        precondition(!a.isCompact, "GPTModel.rewards: the last forward was a compact (logitRows: .only) pass")
        return UnsafeBufferPointer(start: act(a.rewards), count: a.batch)
    }

    /// (B, T) of the last forward pass.
    public var lastShape: (batch: Int, time: Int)? { current.map { ($0.batch, $0.time) } }
}
