/// out = a + b.
public func add(out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = a[i] + b[i] }
}

/// out += a.
public func accumulate(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { out[i] += a[i] }
}

/// out *= s.
public func scale(_ out: UnsafeMutablePointer<Float>, by s: Float, count: Int) {
    for i in 0..<count { out[i] *= s }
}

/// Elements per Float partial sum of `sumOfSquares` (its blocks may be summed on several threads).
public let sumOfSquaresBlock = 4096

/// Σ x² in Double (for global gradient norms, where Float accumulation over millions of terms drifts):
/// Float partial sums of `sumOfSquaresBlock` elements, added in order in Double.
public func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var total: Double = 0
    var i = 0
    let block = sumOfSquaresBlock
    while i < count {
        let end = min(count, i + block)
        var partial: Float = 0
        for j in i..<end { partial += x[j] * x[j] }
        total += Double(partial)
        i = end
    }
    return total
}

