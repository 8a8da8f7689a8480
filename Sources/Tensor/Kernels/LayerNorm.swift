/// LayerNorm over the last dimension: out = (x − mean) · rstd · weight + bias, for N rows of C.
/// Saves per-row mean and rstd for the backward pass.
public func layerNormForward(
    out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    rows: Int, channels c: Int, epsilon: Float
) {
    for row in 0..<rows {
        let x = input + row * c
        var sum: Float = 0
        for i in 0..<c { sum += x[i] }
        let m = sum / Float(c)
        var sq: Float = 0
        for i in 0..<c { let d = x[i] - m; sq += d * d }
        let s = 1 / (sq / Float(c) + epsilon).squareRoot()
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
        var dnormMean: Float = 0, dnormNormMean: Float = 0
        for i in 0..<c {
            let norm = (x[i] - m) * s
            let dnorm = dy[i] * weight[i]
            dnormMean += dnorm
            dnormNormMean += dnorm * norm
        }
        dnormMean /= Float(c)
        dnormNormMean /= Float(c)
        for i in 0..<c {
            let norm = (x[i] - m) * s
            let dnorm = dy[i] * weight[i]
            dBias[i] += dy[i]
            dWeight[i] += norm * dy[i]
            dx[i] += (dnorm - dnormMean - norm * dnormNormMean) * s
        }
    }
}
