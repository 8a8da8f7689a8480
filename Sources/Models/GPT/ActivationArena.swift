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
struct ActivationLayout {
    let batch: Int, time: Int
    let logitRows: LogitRows
    let encoded: Int                 // (N, C)
    let blocks: [BlockActivations]
    let lnf, lnfMean, lnfRstd: Int   // (N, C), (N), (N)
    let logits: Int                  // (M, V): M = N, the selected rows, or 0 (see `LogitRows`)
    let logitHidden: Int             // (M, C) ln_f rows of the selected logit rows (compact heads only)
    let dLogitHidden: Int            // (M, C) their gradient in backward (compact heads only)
    let values: Int                  // (N)
    let rewards: Int                 // (B)
    // Backward scratch, reused by every block.
    let dResidual, dLn, dBranch, dAtty: Int  // (N, C)
    let dqkv: Int                    // (N, 3C)
    let dFch, dFchGelu: Int          // (N, 4C) each: GELU backward must not run in place (aliasing blocks vectorisation)
    let attnScratch1, attnScratch2: Int      // (T, T)
    let count: Int

    var hasLogits: Bool { logitRows != .none }
    /// Number of logit rows M.
    var logitRowCount: Int { logitRows.count(of: batch * time) }

    init(config: GPTConfig, batch: Int, time: Int, logitRows: LogitRows) {
        self.batch = batch
        self.time = time
        self.logitRows = logitRows
        let n = batch * time, c = config.channels
        var offset = 0
        func take(_ count: Int) -> Int { defer { offset += count }; return offset }
        encoded = take(n * c)
        var blocks: [BlockActivations] = []
        for _ in 0..<config.layers {
            blocks.append(BlockActivations(
                ln1: take(n * c), ln1Mean: take(n), ln1Rstd: take(n), qkv: take(3 * n * c), atty: take(n * c),
                probs: take(batch * config.heads * time * time), residual2: take(n * c),
                ln2: take(n * c), ln2Mean: take(n), ln2Rstd: take(n), fch: take(4 * n * c), fchGelu: take(4 * n * c),
                residual3: take(n * c)))
        }
        self.blocks = blocks
        lnf = take(n * c); lnfMean = take(n); lnfRstd = take(n)
        let m = logitRows.count(of: n), compact = m > 0 && logitRows != .all
        logits = take(m * config.vocabSize)
        logitHidden = take(compact ? m * c : 0)
        dLogitHidden = take(compact ? m * c : 0)
        values = take(n)
        rewards = take(batch)
        dResidual = take(n * c); dLn = take(n * c); dBranch = take(n * c); dAtty = take(n * c)
        dqkv = take(3 * n * c)
        dFch = take(4 * n * c)
        dFchGelu = take(4 * n * c)
        attnScratch1 = take(time * time); attnScratch2 = take(time * time)
        count = offset
    }
}

/// Which positions of a forward pass get LM-head logits. The tied LM head is the largest GEMM of a
/// small model; losses that read only some positions (PPO's response tokens) select just those.
public enum LogitRows: Sendable, Equatable {
    /// No LM head (reward/value-only passes).
    case none
    /// Every position: logits [B, T, V].
    case all
    /// Only these flat indices b·T + t, in this order: logits [rows.count, V] (compact).
    case only([Int])

    func count(of n: Int) -> Int {
        switch self {
        case .none: 0
        case .all: n
        case .only(let rows): rows.count
        }
    }
}
