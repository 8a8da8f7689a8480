/// Vectorised reductions. Swift keeps IEEE order for `s += x[i]`, so plain reduction loops stay
/// scalar; these use eight independent SIMD lanes (a fixed, deterministic summation order).

@inlinable @inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

@inlinable @inline(__always)
func store8(_ x: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: x, as: SIMD8<Float>.self) }

/// Σ x[i].
@inlinable @inline(__always)
public func vectorSum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= n { acc += load8(x + i); i += 8 }
    var s = acc.sum()
    while i < n { s += x[i]; i += 1 }
    return s
}

/// Σ x[i]·y[i].
@inlinable @inline(__always)
public func vectorDot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= n { acc += load8(x + i) * load8(y + i); i += 8 }
    var s = acc.sum()
    while i < n { s += x[i] * y[i]; i += 1 }
    return s
}

/// Σ (x[i] − c)².
@inlinable @inline(__always)
public func vectorSumSquaredDeviation(_ x: UnsafePointer<Float>, from c: Float, count n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    let cv = SIMD8<Float>(repeating: c)
    var i = 0
    while i + 8 <= n { let d = load8(x + i) - cv; acc += d * d; i += 8 }
    var s = acc.sum()
    while i < n { let d = x[i] - c; s += d * d; i += 1 }
    return s
}

/// max x[i] (−greatestFiniteMagnitude for n = 0; NaN-unaware).
@inlinable @inline(__always)
public func vectorMax(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: -.greatestFiniteMagnitude)
    var i = 0
    while i + 8 <= n {
        let v = load8(x + i)
        acc.replace(with: v, where: v .> acc)
        i += 8
    }
    var m = -Float.greatestFiniteMagnitude
    for lane in 0..<8 where acc[lane] > m { m = acc[lane] }
    while i < n { if x[i] > m { m = x[i] }; i += 1 }
    return m
}
