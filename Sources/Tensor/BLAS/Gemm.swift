import COpenBLAS

/// Row-major single-precision GEMM: `C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C`.
///
/// `transA`/`transB` say whether A/B are stored transposed (A as [k,m], B as [n,k]); the leading
/// dimensions are row strides, so strided views (a head inside a fused QKV row) need no copy.
@inline(__always)
public func sgemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Dot product of two contiguous vectors (BLAS `sdot`).
@inline(__always)
public func sdot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
    cblas_sdot(Int32(count), x, 1, y, 1)
}

/// `y += alpha · x` over contiguous vectors (BLAS `saxpy`).
@inline(__always)
public func saxpy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, alpha: Float, count: Int) {
    cblas_saxpy(Int32(count), alpha, x, 1, y, 1)
}

/// Row-major GEMV: y = alpha · op(A) · x + beta · y, A stored [m, n] with row stride lda.
/// No packing, so it beats sgemm for a single query row against a cache of keys/values.
@inline(__always)
public func sgemv(
    trans: Bool = false, m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>
) {
    if m == 0 || n == 0 { return }
    cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
}
