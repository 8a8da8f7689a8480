/// LayerNorm over the last dimension: out = (x − mean) · rstd · weight + bias, for N rows of C.
/// Saves per-row mean and rstd for the backward pass.
public func layerNormForward(
    out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    rows: Int, channels c: Int, epsilon: Float
) {
    for row in 0..<rows {
        let x = input + row * c
        let m = vectorSum(x, count: c) / Float(c)
        let s = 1 / (vectorSumSquaredDeviation(x, from: m, count: c) / Float(c) + epsilon).squareRoot()
        let y = out + row * c
        for i in 0..<c { y[i] = (x[i] - m) * s * weight[i] + bias[i] }
        mean[row] = m
        rstd[row] = s
    }
}

/// Accumulates LayerNorm gradients: dInput += …, dWeight += …, dBias += ….
public func layerNormBackward(
    dInput: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
    dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, channels c: Int
) {
    for row in 0..<rows {
        let dy = dOut + row * c, x = input + row * c, dx = dInput + row * c
        let m = mean[row], s = rstd[row]
        // Two reductions: mean(dnorm) and mean(dnorm · norm), where dnorm = dy · weight.
        var a1 = SIMD8<Float>(repeating: 0), a2 = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= c {
            let dnorm = load8(dy + i) * load8(weight + i)
            a1 += dnorm
            a2 += dnorm * (load8(x + i) - m)
            i += 8
        }
        var dnormSum = a1.sum(), dnormCenteredSum = a2.sum()
        while i < c { let dnorm = dy[i] * weight[i]; dnormSum += dnorm; dnormCenteredSum += dnorm * (x[i] - m); i += 1 }
        let dnormMean = dnormSum / Float(c), dnormNormMean = dnormCenteredSum * s / Float(c)
        for i in 0..<c {
            let norm = (x[i] - m) * s
            let dnorm = dy[i] * weight[i]
            dBias[i] += dy[i]
            dWeight[i] += norm * dy[i]
            dx[i] += (dnorm - dnormMean - norm * dnormNormMean) * s
        }
    }
}
