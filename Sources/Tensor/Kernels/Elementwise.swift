/// out = a + b.
public func add(out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = a[i] + b[i] }
}

/// out += a.
public func accumulate(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { out[i] += a[i] }
}

/// out *= s.
/// out[0..<count] = 0 with inline stores: the tails of attention rows are short (a few hundred bytes),
/// millions per step, where a `memset` call costs more than the stores.
@inline(__always)
public func zeroFill(_ out: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count { store8(SIMD8(repeating: 0), out + i); i += 8 }
    while i < count { out[i] = 0; i += 1 }
}

public func scale(_ out: UnsafeMutablePointer<Float>, by s: Float, count: Int) {
    for i in 0..<count { out[i] *= s }
}

/// Elements per Float partial sum of `sumOfSquares` (its blocks may be summed on several threads).
public let sumOfSquaresBlock = 4096

/// Σ x² in Double (for global gradient norms, where Float accumulation over millions of terms drifts):
/// Float partial sums of `sumOfSquaresBlock` elements, added in order in Double.
public func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
    let blocks = (count + sumOfSquaresBlock - 1) / sumOfSquaresBlock
    var total: Double = 0
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { partials in
        var b = 0
        while b < blocks {
            let n = min(64, blocks - b)
            blockSumsOfSquares(x, count: count, blocks: b..<(b + n), into: partials.baseAddress!)
            for i in 0..<n { total += Double(partials[i]) }
            b += n
        }
    }
    return total
}

/// out[i] = Σ x[j]² over block `blocks.lowerBound + i` of `sumOfSquaresBlock` elements (the last block
/// of `count` may be shorter), each summed in Float in ascending j from zero.
///
/// Eight whole blocks go at once, lane k of one SIMD accumulator running block k's sum in its own order:
/// the same bits as one block at a time, without waiting on one long chain of dependent additions.
public func blockSumsOfSquares(_ x: UnsafePointer<Float>, count: Int, blocks: Range<Int>, into out: UnsafeMutablePointer<Float>) {
    let block = sumOfSquaresBlock
    var b = blocks.lowerBound
    while b + 8 <= blocks.upperBound && (b + 8) * block <= count {
        let p = x + b * block
        var acc = SIMD8<Float>(repeating: 0)
        for j in 0..<block {
            let v = SIMD8<Float>(p[j], p[block + j], p[2 * block + j], p[3 * block + j],
                                 p[4 * block + j], p[5 * block + j], p[6 * block + j], p[7 * block + j])
            acc += v * v
        }
        for k in 0..<8 { out[b - blocks.lowerBound + k] = acc[k] }
        b += 8
    }
    while b < blocks.upperBound {
        let start = b * block, end = min(count, start + block)
        var partial: Float = 0
        for j in start..<end { partial += x[j] * x[j] }
        out[b - blocks.lowerBound] = partial
        b += 1
    }
}
