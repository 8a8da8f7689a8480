/// Branch-free float approximations that auto-vectorise (libm's scalar `tanhf`/`expf` are ~10× slower
/// per element and block vectorisation). Both keep the relative error below 2e-7 … 1e-6.

/// e^x (Cephes polynomial; |rel. error| ≲ 2e-7). Inputs below −87 flush to ~0, above 88 saturate.
@inlinable @inline(__always)
public func fastExp(_ x: Float) -> Float {
    var v = x < -87.0 ? -87.0 : x
    v = v > 88.0 ? 88.0 : v
    // n = round(v / ln 2) by the 1.5·2²³ trick: vectorises without SSE4.1 `roundps`.
    let shifted = v * 1.442_695_04 + 12_582_912.0
    let n = shifted - 12_582_912.0
    let r = v - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let poly = p * r * r + r + 1
    let exponentBits = (Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000 &+ 127) &<< 23
    return poly * Float(bitPattern: UInt32(bitPattern: exponentBits))
}

/// tanh(x) as Eigen's rational approximation (|abs. error| < 7e-7).
@inlinable @inline(__always)
public func fastTanh(_ x: Float) -> Float {
    var v = x > 7.905_311 ? 7.905_311 : x
    v = v < -7.905_311 ? -7.905_311 : v
    let x2 = v * v
    var p: Float = -2.760_768_5e-16
    p = p * x2 + 2.000_187_9e-13
    p = p * x2 - 8.604_671_5e-11
    p = p * x2 + 5.122_297e-8
    p = p * x2 + 1.485_722_4e-5
    p = p * x2 + 6.372_619_3e-4
    p = p * x2 + 4.893_524_6e-3
    p = p * v
    var q: Float = 1.198_258_4e-6
    q = q * x2 + 1.185_347_1e-4
    q = q * x2 + 2.268_434_6e-3
    q = q * x2 + 4.893_525_2e-3
    return p / q
}

/// Eight-lane `fastTanh` (same rational function, same results lane by lane).
@inlinable @inline(__always)
public func fastTanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
    var v = x
    v.replace(with: SIMD8(repeating: 7.905_311), where: v .> 7.905_311)
    v.replace(with: SIMD8(repeating: -7.905_311), where: v .< -7.905_311)
    let x2 = v * v
    var p = SIMD8<Float>(repeating: -2.760_768_5e-16)
    p = p * x2 + 2.000_187_9e-13
    p = p * x2 - 8.604_671_5e-11
    p = p * x2 + 5.122_297e-8
    p = p * x2 + 1.485_722_4e-5
    p = p * x2 + 6.372_619_3e-4
    p = p * x2 + 4.893_524_6e-3
    p = p * v
    var q = SIMD8<Float>(repeating: 1.198_258_4e-6)
    q = q * x2 + 1.185_347_1e-4
    q = q * x2 + 2.268_434_6e-3
    q = q * x2 + 4.893_525_2e-3
    return p / q
}

/// Eight-lane `fastExp` (same polynomial, same results lane by lane), for loops that also reduce.
@inlinable @inline(__always)
public func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    var v = x
    v.replace(with: SIMD8(repeating: -87.0), where: v .< -87.0)
    v.replace(with: SIMD8(repeating: 88.0), where: v .> 88.0)
    let shifted = v * 1.442_695_04 + 12_582_912.0
    let n = shifted - 12_582_912.0
    let r = v - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let poly = p * r * r + r + 1
    let bits = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return poly * unsafeBitCast(bits, to: SIMD8<Float>.self)
}

/// Writes out[i] = e^(x[i]·scale − shift) and returns their sum (out may alias x).
@inlinable @inline(__always)
public func expShiftedSum(out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, scale: Float = 1, shift: Float, count n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= n {
        let e = fastExp(load8(x + i) * scale - shift)
        UnsafeMutableRawPointer(out + i).storeBytes(of: e, as: SIMD8<Float>.self)
        acc += e
        i += 8
    }
    var s = acc.sum()
    while i < n { let e = fastExp(x[i] * scale - shift); out[i] = e; s += e; i += 1 }
    return s
}

/// Σ e^(x[i]·scale − shift), and Σ e^(…)·(x[i]·scale − shift) when `weighted` (for entropies).
@inlinable @inline(__always)
public func expShiftedSums(_ x: UnsafePointer<Float>, scale: Float = 1, shift: Float, count n: Int) -> (sum: Float, weighted: Float) {
    var acc = SIMD8<Float>(repeating: 0), accW = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= n {
        let s = load8(x + i) * scale - shift
        let e = fastExp(s)
        acc += e
        accW += e * s
        i += 8
    }
    var sum = acc.sum(), weighted = accW.sum()
    while i < n { let s = x[i] * scale - shift; let e = fastExp(s); sum += e; weighted += e * s; i += 1 }
    return (sum, weighted)
}
