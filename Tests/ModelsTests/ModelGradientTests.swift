import Testing
import Tensor
@testable import Models

@Suite("Whole-model gradients (finite differences)")
struct ModelGradientTests {
    enum Head: String, CaseIterable, Sendable { case lm, value, reward, all }

    /// Every head, on a batch with a left-padded row, with and without dropout.
    @Test(arguments: Head.allCases, [false, true])
    func modelGradient(head: Head, dropout: Bool) throws {
        let config = tinyConfig(valueHead: true, rewardHead: true, dropout: dropout)
        let model = try GPTModel(config: config, seed: 3)
        let b = 2, t = 6, v = config.vocabSize
        let batch = TokenBatch(tokens: randomTokens(b * t, vocab: v, seed: 1), batch: b, time: t,
                               attentionMask: [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1])
        let wL = randomFloats(b * t * v, seed: 2), wV = randomFloats(b * t, seed: 3), wR = randomFloats(b, seed: 4)
        let useL = head == .lm || head == .all, useV = head == .value || head == .all, useR = head == .reward || head == .all
        func loss() -> Double {
            model.dropoutPasses = 0  // same dropout masks for every evaluation
            model.forward(batch, computeLogits: useL, dropout: dropout)
            var s = 0.0
            if useL { s += weightedSum(UnsafeBufferPointer(model.logits), wL) }
            if useV { s += weightedSum(model.values, wV) }
            if useR { s += weightedSum(model.rewards, wR) }
            return s
        }
        _ = loss()
        model.zeroGradients()
        wL.withUnsafeBufferPointer { l in
            wV.withUnsafeBufferPointer { vv in
                wR.withUnsafeBufferPointer { r in
                    model.backward(dLogits: useL ? l.baseAddress : nil, dValues: useV ? vv.baseAddress : nil,
                                   dRewards: useR ? r.baseAddress : nil)
                }
            }
        }
        let (error, tensor) = worstParameterGradientError(model: model, loss: loss)
        #expect(error < 3e-3, "head \(head) dropout \(dropout): worst relative error \(error) in \(tensor)")
    }

    /// Settings of Hugging Face folders that change the maths — the MLP's activation and width, the
    /// attention scaling — train with exact gradients (LM head, a left-padded row).
    @Test(arguments: ["silu", "quick_gelu", "mish", "sigmoid", "laplace", "n_inner", "no_scale", "inverse_layer_idx"])  // relu: its kink defeats finite differences (LayerGradientTests checks it)
    func huggingFaceVariantGradient(variant: String) throws {
        var config = tinyConfig()
        switch variant {
        case "silu": config.activation = .silu
        case "quick_gelu": config.activation = .quickGelu
        case "mish": config.activation = .mish
        case "sigmoid": config.activation = .sigmoid
        case "laplace": config.activation = .laplace
        case "n_inner": config.innerChannels = 20
        case "no_scale": config.scaleAttentionWeights = false
        default: config.scaleAttentionByInverseLayerIndex = true
        }
        let model = try GPTModel(config: config, seed: 8)
        let b = 2, t = 6, v = config.vocabSize
        let batch = TokenBatch(tokens: randomTokens(b * t, vocab: v, seed: 9), batch: b, time: t,
                               attentionMask: [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1])
        let weights = randomFloats(b * t * v, seed: 10)
        func loss() -> Double {
            model.forward(batch)
            return weightedSum(UnsafeBufferPointer(model.logits), weights)
        }
        _ = loss()
        model.zeroGradients()
        weights.withUnsafeBufferPointer { model.backward(dLogits: $0.baseAddress) }
        let (error, tensor) = worstParameterGradientError(model: model, loss: loss)
        #expect(error < 3e-3, "\(variant): worst relative error \(error) in \(tensor)")
    }

    /// The fused SFT cross-entropy: its gradient through the whole model matches finite differences.
    @Test func crossEntropyThroughModel() throws {
        let config = tinyConfig()
        let model = try GPTModel(config: config, seed: 5)
        let b = 2, t = 5
        let tokens = randomTokens(b * t, vocab: config.vocabSize, seed: 6)
        let targets = randomTokens(b * t, vocab: config.vocabSize, seed: 7)
        let mask: [Float] = [0, 0, 1, 1, 1, 0, 1, 1, 1, 1]
        let batch = TokenBatch(tokens: tokens, batch: b, time: t)
        func loss() -> Double {
            model.forward(batch)
            return Double(model.crossEntropy(targets: targets, lossMask: mask, computeGradient: false))
        }
        _ = loss()
        model.zeroGradients()
        _ = model.crossEntropy(targets: targets, lossMask: mask)
        model.backward(dLogits: model.logits.baseAddress)
        let (error, tensor) = worstParameterGradientError(model: model, loss: loss)
        #expect(error < 3e-3, "worst relative error \(error) in \(tensor)")
    }
}
