/// Affine map in Conv1D layout (GPT-2's): out[N, OC] = input[N, IC] · weight[IC, OC] + bias[OC].
public func linearForward(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, rows n: Int, inChannels ic: Int, outChannels oc: Int
) {
    if let bias {
        for row in 0..<n { (out + row * oc).update(from: bias, count: oc) }
    }
    sgemm(m: n, n: oc, k: ic, a: input, lda: ic, b: weight, ldb: oc, beta: bias == nil ? 0 : 1, c: out, ldc: oc)
}

/// Backward of `linearForward`. Accumulates into dWeight/dBias (`accumulateWeight: false` overwrites
/// dWeight instead, the same bytes as accumulating onto zeros, without a pass to zero it); dInput is
/// accumulated when `accumulateInput` (a residual stream) and overwritten otherwise; a nil dInput skips
/// that product.
public func linearBackward(
    dInput: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?,
    dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows n: Int, inChannels ic: Int, outChannels oc: Int, accumulateInput: Bool = false, accumulateWeight: Bool = true
) {
    if let dInput {
        sgemm(transB: true, m: n, n: ic, k: oc, a: dOut, lda: oc, b: weight, ldb: oc,
              beta: accumulateInput ? 1 : 0, c: dInput, ldc: ic)
    }
    sgemm(transA: true, m: ic, n: oc, k: n, a: input, lda: ic, b: dOut, ldb: oc, beta: accumulateWeight ? 1 : 0,
          c: dWeight, ldc: oc)
    if let dBias { addColumnSums(dBias, dOut, rows: n, columns: oc) }
}

/// out[j] += Σ_rows m[row, j].
@inline(__always)
public func addColumnSums(_ out: UnsafeMutablePointer<Float>, _ m: UnsafePointer<Float>, rows: Int, columns: Int) {
    for row in 0..<rows {
        let r = m + row * columns
        for j in 0..<columns { out[j] += r[j] }
    }
}
