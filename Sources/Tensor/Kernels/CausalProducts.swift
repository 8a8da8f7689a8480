import CKernels

/// The matrix products of one head's causal self-attention over a whole sequence of `time` rows:
/// scores (X·Bᵀ), mixes (P·B) and transposed mixes (Pᵀ·B), where P is zero above the diagonal.
///
/// On `DecodeGemm.path == .avx2FMA` they run on pipe's kernels (`CausalAttentionKernels.c`: B packed once
/// into panels, 6-row tiles that stop at the diagonal: the 12 layers × 96 heads of an L step (T = 128,
/// HS = 64) take about 100 ms against OpenBLAS's 140, which packs both operands per call). Otherwise
/// they are sgemm calls over blocks of `rowBlock` query rows, each over only the keys its rows can see.
/// The two paths round differently; the path is part of the kernel signature in stage keys.
struct CausalProducts: ~Copyable {
    let time: Int, headSize: Int, rowBlock: Int
    let kernels: Bool
    private let panels: UnsafeMutablePointer<Float>

    init(time: Int, headSize: Int, rowBlock: Int, path: DecodeGemm.Path = DecodeGemm.path) {
        self.time = time
        self.headSize = headSize
        self.rowBlock = rowBlock
        kernels = path == .avx2FMA
        let floats = kernels ? max(pipe_causal_panel_floats(headSize, time), pipe_causal_panel_floats(time, headSize)) : 0
        panels = .allocate(capacity: max(1, floats))
    }

    deinit { panels.deallocate() }

    /// S[i, j] = alpha · (x_i · b_j) for the keys j ≤ i (row stride of S: `time`). Entries above the
    /// diagonal are left for the caller to overwrite (the softmax and its backward zero them).
    func scores(_ x: UnsafePointer<Float>, ldx: Int, keys b: UnsafePointer<Float>, ldb: Int, alpha: Float = 1,
                into s: UnsafeMutablePointer<Float>) {
        let t = time, hs = headSize
        if kernels {
            pipe_causal_pack_transposed(t, hs, b, ldb, panels)
            pipe_causal_scores(t, hs, x, ldx, panels, alpha, s, t)
            return
        }
        for r0 in stride(from: 0, to: t, by: rowBlock) {
            let r1 = min(t, r0 + rowBlock)
            sgemm(transB: true, m: r1 - r0, n: r1, k: hs, alpha: alpha, a: x + r0 * ldx, lda: ldx, b: b, ldb: ldb,
                  c: s + r0 * t, ldc: t)
        }
    }

    /// Y = P · B: y_i = Σ_{j ≤ i} P[i, j] · b_j (P: [time, time], row stride `time`; overwrites Y).
    func mix(_ p: UnsafePointer<Float>, values b: UnsafePointer<Float>, ldb: Int,
             into y: UnsafeMutablePointer<Float>, ldy: Int) {
        let t = time, hs = headSize
        if kernels {
            pipe_causal_pack(t, hs, b, ldb, panels)
            pipe_causal_mix(t, hs, p, t, panels, y, ldy)
            return
        }
        for r0 in stride(from: 0, to: t, by: rowBlock) {
            let r1 = min(t, r0 + rowBlock)
            sgemm(m: r1 - r0, n: hs, k: r1, a: p + r0 * t, lda: t, b: b, ldb: ldb, c: y + r0 * ldy, ldc: ldy)
        }
    }

    /// Y = Pᵀ · B: y_j = Σ_{i ≥ j} P[i, j] · b_i (overwrites Y).
    func mixTransposed(_ p: UnsafePointer<Float>, _ b: UnsafePointer<Float>, ldb: Int,
                       into y: UnsafeMutablePointer<Float>, ldy: Int) {
        let t = time, hs = headSize
        if kernels {
            pipe_causal_pack(t, hs, b, ldb, panels)
            pipe_causal_mix_transposed(t, hs, p, t, panels, y, ldy)
            return
        }
        for row in 0..<t { (y + row * ldy).update(repeating: 0, count: hs) }
        for r0 in stride(from: 0, to: t, by: rowBlock) {
            let r1 = min(t, r0 + rowBlock)
            sgemm(transA: true, m: r1, n: hs, k: r1 - r0, a: p + r0 * t, lda: t, b: b + r0 * ldb, ldb: ldb,
                  beta: 1, c: y, ldc: ldy)
        }
    }
}
