import Tensor

/// Offsets of one block's saved activations inside the arena (N = B·T rows).
struct BlockActivations {
    let ln1, ln1Mean, ln1Rstd: Int   // (N, C), (N), (N)
    let qkv: Int                     // (N, 3C)
    let atty: Int                    // (N, C) attention output before c_proj
    let probs: Int                   // (B, NH, T, T)
    let residual2: Int               // (N, C) residual + attention branch
    let ln2, ln2Mean, ln2Rstd: Int   // (N, C), (N), (N)
    let fch: Int                     // (N, 4C) c_fc output (pre-GELU)
    let fchGelu: Int                 // (N, 4C)
    let residual3: Int               // (N, C) block output
}

/// Offsets of every forward activation and backward scratch buffer for one (B, T), carved out of one
/// allocation (llm.c's ActivationTensors). The storage only grows, so alternating batch shapes
/// (rollout vs minibatch) reuse it without reallocating.
///
/// A compact pass (`LogitRows.only(rows)`) stores the last block from its projection on, ln_f and the
/// heads as M = rows.count compact rows; those buffers hold max(N, M) rows.
struct ActivationLayout {
    let batch: Int, time: Int
    let logitRows: LogitRows
    let encoded: Int                 // (N, C)
    let blocks: [BlockActivations]
    let tailAtty: Int                // (M, C) last block's attention output at the compact rows
    let lnf, lnfMean, lnfRstd: Int   // (R, C), (R), (R): R = `outputRows`
    let logits: Int                  // (N or M, V), or nothing (see `LogitRows`)
    let values: Int                  // (R)
    let rewards: Int                 // (B)
    // Backward scratch, reused by every block.
    let dResidual, dLn, dBranch, dAtty: Int  // (max(N, M), C)
    let dTailAtty: Int               // (M, C)
    let dqkv: Int                    // (N, 3C)
    let dFch, dFchGelu: Int          // (max(N, M), 4C) each: GELU backward must not run in place (aliasing blocks vectorisation)
    let attnScratch1, attnScratch2: Int      // (T, T)
    let count: Int

    var hasLogits: Bool { logitRows != .none }
    var isCompact: Bool { if case .only = logitRows { true } else { false } }
    /// Number of logit rows.
    var logitRowCount: Int { logitRows.count(of: batch * time) }
    /// Rows of ln_f, values and the last block's output: M in a compact pass, else N.
    var outputRows: Int { isCompact ? logitRowCount : batch * time }

    init(config: GPTConfig, batch: Int, time: Int, logitRows: LogitRows) {
        self.batch = batch
        self.time = time
        self.logitRows = logitRows
        let n = batch * time, c = config.channels
        let m = logitRows.count(of: n), compact = if case .only = logitRows { true } else { false }
        // Scratch rows: a compact pass may select more rows than there are positions (repeats).
        let rows = max(n, m)
        var offset = 0
        func take(_ count: Int) -> Int { defer { offset += count }; return offset }
        encoded = take(n * c)
        var blocks: [BlockActivations] = []
        for l in 0..<config.layers {
            let tail = l == config.layers - 1 ? rows : n
            blocks.append(BlockActivations(
                ln1: take(n * c), ln1Mean: take(n), ln1Rstd: take(n), qkv: take(3 * n * c), atty: take(n * c),
                probs: take(batch * config.heads * time * time), residual2: take(tail * c),
                ln2: take(tail * c), ln2Mean: take(tail), ln2Rstd: take(tail), fch: take(tail * config.mlpChannels),
                fchGelu: take(tail * config.mlpChannels), residual3: take(tail * c)))
        }
        self.blocks = blocks
        tailAtty = take(compact ? m * c : 0)
        lnf = take(rows * c); lnfMean = take(rows); lnfRstd = take(rows)
        logits = take(m * config.vocabSize)
        values = take(rows)
        rewards = take(batch)
        dResidual = take(rows * c); dLn = take(rows * c); dBranch = take(rows * c); dAtty = take(rows * c)
        dTailAtty = take(compact ? m * c : 0)
        dqkv = take(3 * n * c)
        dFch = take(rows * config.mlpChannels)
        dFchGelu = take(rows * config.mlpChannels)
        attnScratch1 = take(time * time); attnScratch2 = take(time * time)
        count = offset
    }
}
