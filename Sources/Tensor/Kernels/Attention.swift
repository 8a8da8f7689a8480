/// Causal multi-head self-attention over a fused QKV tensor, with an optional key padding mask.
///
/// Shapes: qkv [B, T, 3C] (columns q | k | v, heads contiguous inside each, GPT-2's c_attn order),
/// out [B, T, C], probs [B, NH, T, T] (saved for backward), keyMask [B, T] (1 = real token, 0 = pad).
/// Query row i attends to keys j ≤ i whose mask is 1; a row with no such key outputs zeros.
/// Per (b, h) the products Q·Kᵀ and P·V skip the causal upper triangle (`CausalProducts`: pipe's
/// kernels, or sgemm calls per block of `rowBlock` query rows on the OpenBLAS path).
public func attentionForward(
    out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
    keyMask: UnsafePointer<Int32>?, dropout: DropoutMask?, scratch: UnsafeMutablePointer<Float>,
    batch b: Int, time t: Int, channels c: Int, heads nh: Int, scale: Float? = nil, rowBlock: Int = 64
) {
    let hs = c / nh, c3 = 3 * c
    let scale = scale ?? 1 / Float(hs).squareRoot()
    let products = CausalProducts(time: t, headSize: hs, rowBlock: rowBlock)
    for bi in 0..<b {
        let base = qkv + bi * t * c3
        let mask = keyMask.map { $0 + bi * t }
        for h in 0..<nh {
            let p = probs + (bi * nh + h) * t * t
            let q = base + h * hs, k = base + c + h * hs, v = base + 2 * c + h * hs
            products.scores(q, ldx: c3, keys: k, ldb: c3, alpha: scale, into: p)
            for i in 0..<t { causalMaskedSoftmaxRow(p + i * t, row: i, length: t, mask: mask) }
            var weights = UnsafePointer(p)
            if let dropout {
                scratch.update(from: p, count: t * t)
                let site = DropoutMask(probability: dropout.probability, generator: dropout.generator,
                                       stream: streamID(dropout.stream, UInt64(bi * nh + h)))
                site.apply(scratch, count: t * t)
                weights = UnsafePointer(scratch)
            }
            products.mix(weights, values: v, ldb: c3, into: out + bi * t * c + h * hs, ldy: c)
        }
    }
}

/// Softmax over keys 0...row of one score row (masked keys and j > row set to 0), in place.
@inline(__always)
public func causalMaskedSoftmaxRow(_ s: UnsafeMutablePointer<Float>, row: Int, length: Int, mask: UnsafePointer<Int32>?) {
    let n = row + 1
    if let mask {
        var any = false
        for j in 0..<n {
            let live = mask[j] != 0
            s[j] = live ? s[j] : -Float.greatestFiniteMagnitude
            any = any || live
        }
        if !any {
            s.update(repeating: 0, count: length)
            return
        }
    }
    let sum = expShiftedSum(out: s, s, shift: vectorMax(s, count: n), count: n)
    let inv = 1 / sum
    if let mask {
        for j in 0..<n { s[j] = mask[j] != 0 ? s[j] * inv : 0 }
    } else {
        for j in 0..<n { s[j] *= inv }
    }
    if n < length { zeroFill(s + n, count: length - n) }
}

/// Backward of `attentionForward`: overwrites dqkv [B, T, 3C] from dOut [B, T, C].
/// `scratch1`/`scratch2` hold T×T each.
public func attentionBackward(
    dqkv: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, probs: UnsafePointer<Float>,
    qkv: UnsafePointer<Float>, dropout: DropoutMask?,
    scratch1: UnsafeMutablePointer<Float>, scratch2: UnsafeMutablePointer<Float>,
    batch b: Int, time t: Int, channels c: Int, heads nh: Int, scale: Float? = nil, rowBlock: Int = 64
) {
    let hs = c / nh, c3 = 3 * c
    let scale = scale ?? 1 / Float(hs).squareRoot()
    let products = CausalProducts(time: t, headSize: hs, rowBlock: rowBlock)
    for bi in 0..<b {
        let base = qkv + bi * t * c3, dbase = dqkv + bi * t * c3
        for h in 0..<nh {
            let p = probs + (bi * nh + h) * t * t
            let q = base + h * hs, k = base + c + h * hs, v = base + 2 * c + h * hs
            let dq = dbase + h * hs, dk = dbase + c + h * hs, dv = dbase + 2 * c + h * hs
            let dy = dOut + bi * t * c + h * hs
            var site: DropoutMask?
            var weights = p
            if let dropout {
                let s = DropoutMask(probability: dropout.probability, generator: dropout.generator,
                                    stream: streamID(dropout.stream, UInt64(bi * nh + h)))
                scratch2.update(from: p, count: t * t)
                s.apply(scratch2, count: t * t)
                weights = UnsafePointer(scratch2)
                site = s
            }
            // dV = Pᵀ · dY ; dP = dY · Vᵀ over the visible keys.
            let dp = scratch1
            products.mixTransposed(weights, dy, ldb: c, into: dv, ldy: c3)
            products.scores(dy, ldx: c, keys: v, ldb: c3, into: dp)
            site?.apply(dp, count: t * t)
            // dS = P ⊙ (dP − Σ_j P·dP) · scale (the softmax Jacobian), only on the causal triangle.
            for i in 0..<t {
                let pr = p + i * t, dr = dp + i * t
                let dot = vectorDot(pr, dr, count: i + 1)
                for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) * scale }
                if i + 1 < t { zeroFill(dr + i + 1, count: t - i - 1) }
            }
            // dQ = dS · K ; dK = dSᵀ · Q
            products.mix(dp, values: k, ldb: c3, into: dq, ldy: c3)
            products.mixTransposed(dp, q, ldb: c3, into: dk, ldy: c3)
        }
    }
}
