import Foundation
import Testing
import Tensor
@testable import Models

/// N deterministic AdamW steps on a fixed batch with dropout, clipping and a schedule; returns the
/// final parameters' FNV-1a digest. Shared by the in-process and the two-process determinism tests.
func trainedWeightsDigest(steps: Int = 5) throws -> UInt64 {
    var config = tinyConfig(valueHead: true)
    config.residualDropout = 0.1
    config.attentionDropout = 0.1
    let model = try GPTModel(config: config, seed: 1234)
    let adam = AdamW(for: model, weightDecay: 0.1)
    let schedule = LearningRateSchedule(peak: 3e-3, minimum: 3e-4, warmupSteps: 2, totalSteps: steps)
    let b = 3, t = 7
    let tokens = randomTokens(b * t, vocab: config.vocabSize, seed: 99)
    let batch = TokenBatch(tokens: tokens, batch: b, time: t)
    let targets = Array(tokens.dropFirst()) + [0]
    for step in 0..<steps {
        model.zeroGradients()
        model.forward(batch, dropout: true)
        _ = model.crossEntropy(targets: targets)
        let dValues = model.values.map { 0.1 * $0 }
        dValues.withUnsafeBufferPointer { model.backward(dLogits: model.logits.baseAddress, dValues: $0.baseAddress) }
        clipGradientNorm(model, maxNorm: 1)
        adam.update(model, learningRate: schedule.rate(at: step))
    }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for x in model.parameters.buffer {
        var bits = x.bitPattern
        for _ in 0..<4 { hash = (hash ^ UInt64(bits & 0xFF)) &* 0x100_0000_01b3; bits >>= 8 }
    }
    return hash
}

@Suite("Training pieces")
struct TrainingTests {
    @Test func overfitsATinyBatch() throws {
        let config = tinyConfig()
        let model = try GPTModel(config: config, seed: 2)
        let adam = AdamW(for: model, weightDecay: 0)
        let tokens = randomTokens(2 * 8, vocab: config.vocabSize, seed: 3)
        let batch = TokenBatch(tokens: tokens, batch: 2, time: 8)
        let targets = randomTokens(2 * 8, vocab: config.vocabSize, seed: 4)
        var first: Float = 0, last: Float = 0
        for step in 0..<300 {
            model.zeroGradients()
            model.forward(batch)
            let loss = model.crossEntropy(targets: targets)
            if step == 0 { first = loss }
            last = loss
            model.backward(dLogits: model.logits.baseAddress)
            adam.update(model, learningRate: 1e-2)
        }
        #expect(first > 2)
        #expect(last < 0.05, "loss \(first) → \(last)")
    }

    /// `zeroGradients(lazily: true)` leaves the previous step's values in place and the next backward
    /// overwrites them: the gradients must equal those of zeroing first, bit for bit, for every tensor
    /// (the block matrices backward overwrites and the rest it must zero itself), with the value head.
    @Test func lazilyZeroedGradientsEqualEagerlyZeroedOnes() throws {
        let config = tinyConfig(valueHead: true)
        let eager = try GPTModel(config: config, seed: 5), lazy = try GPTModel(config: config, seed: 5)
        let tokens = randomTokens(2 * 6, vocab: config.vocabSize, seed: 6)
        let batch = TokenBatch(tokens: tokens, batch: 2, time: 6)
        let targets = randomTokens(2 * 6, vocab: config.vocabSize, seed: 7)
        for model in [eager, lazy] {   // a previous step's gradients, so stale values are there to leak
            model.zeroGradients()
            model.forward(batch)
            _ = model.crossEntropy(targets: targets)
            model.backward(dLogits: model.logits.baseAddress)
        }
        eager.zeroGradients()
        lazy.zeroGradients(lazily: true)
        let shifted = Array(tokens.reversed())
        for model in [eager, lazy] {
            model.forward(TokenBatch(tokens: shifted, batch: 2, time: 6))
            _ = model.crossEntropy(targets: targets)
            let dValues = model.values.map { 0.5 * $0 }
            dValues.withUnsafeBufferPointer { model.backward(dLogits: model.logits.baseAddress, dValues: $0.baseAddress) }
        }
        let stale = (0..<eager.parameterCount).filter { eager.gradients[$0].bitPattern != lazy.gradients[$0].bitPattern }
        #expect(stale.isEmpty, "\(stale.count) gradient elements differ, first at \(stale.first ?? -1)")
    }

    @Test func everyTrainableTensorChangesAfterOneStep() throws {
        let config = tinyConfig(valueHead: true, rewardHead: true)
        let model = try GPTModel(config: config, seed: 5)
        let before = model.parameters.array
        let adam = AdamW(for: model)
        let batch = TokenBatch.leftPadded([[1, 2, 3, 4], [5, 6]], padToken: 0)
        model.zeroGradients()
        model.forward(batch)
        _ = model.crossEntropy(targets: [2, 3, 4, 5, 0, 0, 6, 7], lossMask: [1, 1, 1, 1, 0, 0, 1, 1])
        let dV = [Float](repeating: 0.5, count: 8), dR: [Float] = [1, -1]
        dV.withUnsafeBufferPointer { v in
            dR.withUnsafeBufferPointer { r in model.backward(dLogits: model.logits.baseAddress, dValues: v.baseAddress, dRewards: r.baseAddress) }
        }
        adam.update(model, learningRate: 1e-3)
        for t in model.layout.tensors {
            let changed = (t.offset ..< t.offset + t.count).contains { model.parameters[$0] != before[$0] }
            #expect(changed, "\(t.name) did not change")
        }
    }

    /// Two micro-batches with loss scale 1/2 accumulate to the gradient of the full batch.
    @Test func gradientAccumulationMatchesFullBatch() throws {
        let config = tinyConfig()
        let model = try GPTModel(config: config, seed: 6)
        let tokens = randomTokens(4 * 5, vocab: config.vocabSize, seed: 7), targets = randomTokens(4 * 5, vocab: config.vocabSize, seed: 8)
        model.zeroGradients()
        model.forward(TokenBatch(tokens: tokens, batch: 4, time: 5))
        _ = model.crossEntropy(targets: targets)
        model.backward(dLogits: model.logits.baseAddress)
        let full = model.gradients.array
        model.zeroGradients()
        for half in 0..<2 {
            let range = half * 10 ..< half * 10 + 10
            model.forward(TokenBatch(tokens: Array(tokens[range]), batch: 2, time: 5))
            _ = model.crossEntropy(targets: Array(targets[range]), scale: 0.5)
            model.backward(dLogits: model.logits.baseAddress)
        }
        let accumulated = model.gradients.array
        let scale = full.map { abs($0) }.max()!
        #expect(zip(full, accumulated).allSatisfy { abs($0 - $1) < 1e-5 * scale })
    }

    @Test func adamWMatchesTheReferenceFormula() throws {
        let model = try GPTModel(config: tinyConfig(), seed: 9)
        let adam = AdamW(for: model, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1)
        for i in 0..<model.parameterCount { model.gradients[i] = Float(i % 7) * 0.01 - 0.03 }
        let p0 = model.parameters.array, g = model.gradients.array
        adam.update(model, learningRate: 0.01)
        adam.update(model, learningRate: 0.01)
        // Second step by hand in Double for one decayed (wte) and one non-decayed (ln_f.bias) element.
        for name in ["transformer.wte.weight", "transformer.ln_f.bias"] {
            let t = model.layout.tensor(named: name)!
            let i = t.offset + 3
            var p = Double(p0[i]), m = 0.0, v = 0.0
            for step in 1...2 {
                m = 0.9 * m + 0.1 * Double(g[i]); v = 0.95 * v + 0.05 * Double(g[i]) * Double(g[i])
                let mh = m / (1 - pow(0.9, Double(step))), vh = v / (1 - pow(0.95, Double(step)))
                p -= 0.01 * (mh / (vh.squareRoot() + 1e-8) + (t.decays ? 0.1 * p : 0))
            }
            #expect(abs(Double(model.parameters[i]) - p) < 1e-6, "\(name)")
        }
        #expect(model.layout.tensor(named: "transformer.wte.weight")!.decays)
        #expect(!model.layout.tensor(named: "transformer.h.0.ln_1.weight")!.decays)
        #expect(!model.layout.tensor(named: "transformer.h.0.attn.c_attn.bias")!.decays)
    }

    @Test func clippingBoundsTheGlobalNorm() throws {
        let model = try GPTModel(config: tinyConfig(), seed: 10)
        for i in 0..<model.parameterCount { model.gradients[i] = 0.5 }
        let norm = clipGradientNorm(model, maxNorm: 1)
        #expect(abs(norm - 0.5 * Float(model.parameterCount).squareRoot()) < 1e-2)
        let after = sumOfSquares(model.gradients.pointer, count: model.parameterCount).squareRoot()
        #expect(abs(after - 1) < 1e-4)
        #expect(clipGradientNorm(model, maxNorm: 5) <= 1.0001)  // below the bound: unchanged
    }

    @Test func warmupThenCosine() {
        let s = LearningRateSchedule(peak: 1, minimum: 0.1, warmupSteps: 4, totalSteps: 14)
        #expect(s.rate(at: 0) == 0.25 && s.rate(at: 3) == 1)
        #expect(abs(s.rate(at: 9) - 0.55) < 1e-6)  // half way through the cosine
        #expect(abs(s.rate(at: 14) - 0.1) < 1e-6 && s.rate(at: 100) == 0.1)
        #expect((4..<14).allSatisfy { s.rate(at: $0) >= s.rate(at: $0 + 1) })
    }

    @Test func sameSeedSameBitsInProcess() throws {
        #expect(try trainedWeightsDigest() == trainedWeightsDigest())
    }
}

@Suite("LM-head backward with zero rows")
struct SparseLMHeadTests {
    /// Gradients from a loss on a few positions are identical whether dLogits is the model's own
    /// buffer (live rows compacted) or a separate caller buffer (plain products).
    @Test func compactedRowsGiveTheSameGradients() throws {
        let config = tinyConfig(valueHead: true)
        let model = try GPTModel(config: config, seed: 31)
        let b = 3, t = 6, v = config.vocabSize
        let batch = TokenBatch(tokens: randomTokens(b * t, vocab: v, seed: 32), batch: b, time: t)
        let targets = randomTokens(b * t, vocab: v, seed: 33)
        // Only the last two positions of each row count (a PPO-like response mask).
        let mask: [Float] = (0..<(b * t)).map { $0 % t >= t - 2 ? 1 : 0 }
        let dValues = randomFloats(b * t, seed: 34)

        model.forward(batch)
        _ = model.crossEntropy(targets: targets, lossMask: mask)
        let separate = Array(model.logits)
        model.zeroGradients()
        separate.withUnsafeBufferPointer { d in
            dValues.withUnsafeBufferPointer { model.backward(dLogits: d.baseAddress, dValues: $0.baseAddress) }
        }
        let plain = model.gradients.array

        model.forward(batch)
        _ = model.crossEntropy(targets: targets, lossMask: mask)
        model.zeroGradients()
        dValues.withUnsafeBufferPointer { model.backward(dLogits: model.logits.baseAddress, dValues: $0.baseAddress) }
        let compacted = model.gradients.array
        let scale = plain.map { abs($0) }.max()!
        #expect(zip(plain, compacted).allSatisfy { abs($0 - $1) <= 1e-6 * scale })
        #expect(plain != [Float](repeating: 0, count: plain.count))
    }
}

@Suite("Right padding")
struct RightPaddingTests {
    /// Pads after a row's last real token are never attended to (causal attention looks back only), so
    /// masking them changes no bit of the real positions' logits: the evaluation's perplexity batches
    /// rely on it.
    @Test func maskingRightPadsChangesNoRealLogit() throws {
        let config = tinyConfig()
        let model = try GPTModel(config: config, seed: 7)
        let lengths = [7, 3, 5], t = 7, pad: Int32 = 0
        var tokens: [Int32] = [], mask: [Int32] = []
        for (row, n) in lengths.enumerated() {
            tokens += randomTokens(n, vocab: config.vocabSize, seed: UInt64(10 + row)) + Array(repeating: pad, count: t - n)
            mask += Array(repeating: 1, count: n) + Array(repeating: 0, count: t - n)
        }
        model.forward(TokenBatch(tokens: tokens, batch: lengths.count, time: t))
        let unmasked = Array(model.logits)
        model.forward(TokenBatch(tokens: tokens, batch: lengths.count, time: t, attentionMask: mask))
        let masked = Array(model.logits)
        let v = config.vocabSize
        for (row, n) in lengths.enumerated() {
            let real = (row * t * v)..<((row * t + n) * v)
            #expect(unmasked[real].map(\.bitPattern) == masked[real].map(\.bitPattern), "row \(row)")
        }
    }
}
