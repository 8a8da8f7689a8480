import Foundation
import Testing
import Tensor
@testable import Models

/// AdamW updates eight lanes at a time; it must stay bitwise identical to the plain per-element loop
/// (checkpoints and same-seed-same-bytes depend on it), including tensors whose size is not a multiple of 8.
@Suite struct AdamWLanesTests {
    @Test func lanesMatchThePerElementLoopBitwise() throws {
        let model = try GPTModel(config: tinyConfig(valueHead: true, rewardHead: true), seed: 31)
        #expect(model.layout.tensors.contains { $0.count % 8 != 0 })
        let adam = AdamW(for: model, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1)
        var params = model.parameters.array
        var m = [Float](repeating: 0, count: params.count), v = m
        for step in 1...3 {
            let grads = randomFloats(params.count, seed: UInt64(40 + step), scale: 0.1)
            for i in grads.indices { model.gradients[i] = grads[i] }
            adam.update(model, learningRate: 0.01)

            let b1: Float = 0.9, b2: Float = 0.95, lr: Float = 0.01
            let correction1 = 1 / (1 - Float(pow(Double(b1), Double(step))))
            let correction2 = 1 / (1 - Float(pow(Double(b2), Double(step))))
            for t in model.layout.tensors {
                let decay = t.decays ? lr * 0.1 : 0
                for i in t.offset..<(t.offset + t.count) {
                    let g = grads[i]
                    m[i] = b1 * m[i] + (1 - b1) * g
                    v[i] = b2 * v[i] + (1 - b2) * g * g
                    let mHat = m[i] * correction1, vHat = v[i] * correction2
                    params[i] -= lr * mHat / (vHat.squareRoot() + 1e-8) + decay * params[i]
                }
            }
            let differing = zip(model.parameters.array, params).filter { $0.bitPattern != $1.bitPattern }.count
            let momentsEqual = adam.m.array == m && adam.v.array == v
            #expect(differing == 0, "step \(step): \(differing) parameters differ")
            #expect(momentsEqual, "step \(step)")
        }
    }

    /// Clipping on the fly (the scale applied as AdamW reads each gradient) gives the same bytes as
    /// scaling the gradients first.
    @Test(arguments: [Float(0.5), Float(1e6)])
    func clipScaleOnTheFlyMatchesClippingFirst(maxNorm: Float) throws {
        let first = try GPTModel(config: tinyConfig(valueHead: true), seed: 32)
        let onTheFly = GPTModel(copying: first)
        let adamFirst = AdamW(for: first, weightDecay: 0.1), adamOnTheFly = AdamW(for: onTheFly, weightDecay: 0.1)
        for step in 1...2 {
            let grads = randomFloats(first.parameterCount, seed: UInt64(50 + step), scale: 0.3)
            for i in grads.indices { first.gradients[i] = grads[i]; onTheFly.gradients[i] = grads[i] }
            let norm = clipGradientNorm(first, maxNorm: maxNorm)
            adamFirst.update(first, learningRate: 0.01)
            let clip = gradientClipScale(onTheFly, maxNorm: maxNorm)
            #expect(clip.norm == norm)
            #expect((clip.scale == 1) == (maxNorm > norm))
            adamOnTheFly.update(onTheFly, learningRate: 0.01, gradientScale: clip.scale)
            let differing = zip(first.parameters.array, onTheFly.parameters.array).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "maxNorm \(maxNorm) step \(step): \(differing) parameters differ")
        }
    }
}
