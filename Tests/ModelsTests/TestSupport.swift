import Tensor
@testable import Models

/// A tiny config so every test runs in well under a second in a debug build.
/// `dropout: true` turns on all three dropout sites (rates chosen to differ, so a mix-up shows).
func tinyConfig(valueHead: Bool = false, rewardHead: Bool = false, dropout: Bool = false) -> GPTConfig {
    var c = GPTConfig(vocabSize: 13, maxPositions: 12, channels: 8, layers: 2, heads: 2, valueHead: valueHead, rewardHead: rewardHead)
    c.initializerRange = 0.3
    if dropout {
        c.embeddingDropout = 0.1
        c.residualDropout = 0.2
        c.attentionDropout = 0.15
    }
    return c
}

func randomFloats(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    let rng = Philox(seed: seed)
    return (0..<count).map { Float(rng.uniformDouble(stream: 7, index: UInt64($0)) * 2 - 1) * scale }
}

func randomTokens(_ count: Int, vocab: Int, seed: UInt64) -> [Int32] {
    let rng = Philox(seed: seed)
    return (0..<count).map { Int32(rng.uniformDouble(stream: 11, index: UInt64($0)) * Double(vocab)) }
}

func weightedSum(_ y: UnsafeBufferPointer<Float>, _ w: [Float]) -> Double {
    precondition(y.count == w.count)
    var s = 0.0
    for i in 0..<w.count { s += Double(y[i]) * Double(w[i]) }
    return s
}

/// Worst relative error between analytic gradients and central differences over a sample of each
/// parameter tensor (step 1e-2 in Float32; relative to the tensor's largest numeric gradient).
func worstParameterGradientError(model: GPTModel, loss: () -> Double, samplesPerTensor: Int = 10,
                                 step: Float = 1e-2) -> (error: Double, tensor: String) {
    var worst = (0.0, "")
    let analytic = model.gradients.array
    for (ti, t) in model.layout.tensors.enumerated() {
        var worstAbs = 0.0, scale = 1e-3
        let rng = Philox(seed: UInt64(ti))
        for s in 0..<min(samplesPerTensor, t.count) {
            let i = t.offset + (samplesPerTensor >= t.count ? s : Int(rng.uniformDouble(stream: 0, index: UInt64(s)) * Double(t.count)))
            let saved = model.parameters[i]
            model.parameters[i] = saved + step
            let up = loss()
            model.parameters[i] = saved - step
            let down = loss()
            model.parameters[i] = saved
            let numeric = (up - down) / Double(2 * step)
            worstAbs = max(worstAbs, abs(numeric - Double(analytic[i])))
            scale = max(scale, abs(numeric))
        }
        if worstAbs / scale > worst.0 { worst = (worstAbs / scale, t.name) }
    }
    return worst
}
