import Testing
import Tensor
@testable import Models

/// `forward(_:logitRows: .only(rows))`: compact logits and their backward against the full LM head.
@Suite("Compact logit rows")
struct CompactLogitsTests {
    let b = 2, t = 6
    /// Any order, a repeated position, a padding position: the API promises nothing about the rows.
    let rows = [10, 1, 5, 4, 5, 0, 11]
    let mask: [Int32] = [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1]

    func makeModel(dropout: Bool = false) throws -> (GPTModel, TokenBatch) {
        var config = tinyConfig(valueHead: true, rewardHead: true)
        if dropout {
            config.embeddingDropout = 0.1
            config.residualDropout = 0.2
            config.attentionDropout = 0.15
        }
        let model = try GPTModel(config: config, seed: 11)
        let batch = TokenBatch(tokens: randomTokens(b * t, vocab: config.vocabSize, seed: 12), batch: b, time: t,
                               attentionMask: mask)
        return (model, batch)
    }

    @Test func compactLogitsAreTheSelectedRowsOfTheFullLogits() throws {
        let (model, batch) = try makeModel()
        let v = model.config.vocabSize
        model.forward(batch)
        let full = Array(model.logits), values = Array(model.values), rewards = Array(model.rewards)
        model.forward(batch, logitRows: .only(rows))
        #expect(model.logitRows == .only(rows))
        let compact = Array(model.logits)
        #expect(compact.count == rows.count * v)
        var worst: Float = 0
        for (i, row) in rows.enumerated() {
            for j in 0..<v { worst = max(worst, abs(compact[i * v + j] - full[row * v + j])) }
        }
        #expect(worst <= 1e-5, "worst logit difference \(worst)")
        #expect(Array(model.values) == values)
        #expect(Array(model.rewards) == rewards)

        // Switching back to the full head (same arena) still gives [B, T, V].
        model.forward(batch)
        #expect(Array(model.logits) == full)
    }

    /// Compact dLogits give the same parameter gradients as the same gradients scattered (and summed
    /// over repeated positions) into a full [B, T, V] dLogits.
    @Test func compactBackwardMatchesFullBackward() throws {
        let (model, batch) = try makeModel()
        let v = model.config.vocabSize
        let dCompact = randomFloats(rows.count * v, seed: 13)
        let dValues = randomFloats(b * t, seed: 14), dRewards = randomFloats(b, seed: 15)
        var dFull = [Float](repeating: 0, count: b * t * v)
        for (i, row) in rows.enumerated() {
            for j in 0..<v { dFull[row * v + j] += dCompact[i * v + j] }
        }

        model.forward(batch)
        model.zeroGradients()
        dFull.withUnsafeBufferPointer { model.backward(dLogits: $0.baseAddress, dValues: dValues, dRewards: dRewards) }
        let expected = model.gradients.array

        model.forward(batch, logitRows: .only(rows))
        model.zeroGradients()
        dCompact.withUnsafeBufferPointer { model.backward(dLogits: $0.baseAddress, dValues: dValues, dRewards: dRewards) }
        let got = model.gradients.array

        for tensor in model.layout.tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            let scale = max(range.map { abs(expected[$0]) }.max()!, 1e-3)
            let worst = range.map { abs(got[$0] - expected[$0]) }.max()!
            #expect(worst <= 1e-5 * scale, "\(tensor.name): worst difference \(worst) (scale \(scale))")
        }
    }

    /// The compact LM head's gradient through the whole model matches finite differences, with dropout too.
    @Test(arguments: [false, true])
    func compactLogitsGradient(dropout: Bool) throws {
        let (model, batch) = try makeModel(dropout: dropout)
        let wL = randomFloats(rows.count * model.config.vocabSize, seed: 16)
        func loss() -> Double {
            model.dropoutPasses = 0  // same dropout masks for every evaluation
            model.forward(batch, logitRows: .only(rows), dropout: dropout)
            return weightedSum(UnsafeBufferPointer(model.logits), wL)
        }
        _ = loss()
        model.zeroGradients()
        wL.withUnsafeBufferPointer { model.backward(dLogits: $0.baseAddress) }
        let (error, tensor) = worstParameterGradientError(model: model, loss: loss)
        #expect(error < 3e-3, "dropout \(dropout): worst relative error \(error) in \(tensor)")
    }
}
