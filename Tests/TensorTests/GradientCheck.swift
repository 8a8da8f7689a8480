import Tensor

/// Finite-difference checking in Float32: central differences with a step large enough to beat
/// rounding noise, compared per tensor as max |analytic − numeric| / max(max |numeric|, floor).
struct GradientCheck {
    var step: Float = 1e-2
    var tolerance: Double = 2e-2

    /// Perturbs each listed element of `x` and returns the worst relative error against `analytic`.
    func worstError(of loss: () -> Double, perturbing x: UnsafeMutablePointer<Float>, analytic: UnsafePointer<Float>,
                    indices: [Int]) -> Double {
        var worstAbs = 0.0, scale = 1e-3
        for i in indices {
            let saved = x[i]
            x[i] = saved + step
            let up = loss()
            x[i] = saved - step
            let down = loss()
            x[i] = saved
            let numeric = (up - down) / Double(2 * step)
            worstAbs = max(worstAbs, abs(numeric - Double(analytic[i])))
            scale = max(scale, abs(numeric))
        }
        return worstAbs / scale
    }
}

/// Deterministic test data from the project's RNG.
func randomFloats(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    let rng = Philox(seed: seed)
    return (0..<count).map { Float(rng.uniformDouble(stream: 7, index: UInt64($0)) * 2 - 1) * scale }
}

/// Σ w·y in Double.
func weightedSum(_ y: UnsafePointer<Float>, _ w: [Float]) -> Double {
    var s = 0.0
    for i in 0..<w.count { s += Double(y[i]) * Double(w[i]) }
    return s
}
