import Testing
import Tensor
@testable import Models

/// `forward(_:logitRows: .only(rows))`: the compact pass (last block's MLP, ln_f and heads only at the
/// selected rows) against the full pass, and its backward against finite differences.
@Suite("Compact logit rows")
struct CompactLogitsTests {
    let b = 2, t = 6
    /// Any order, a repeated position, a padding position: the API promises nothing about the rows.
    let rows = [10, 1, 5, 4, 5, 0, 11]
    let mask: [Int32] = [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1]

    func makeModel(dropout: Bool = false) throws -> (GPTModel, TokenBatch) {
        let config = tinyConfig(valueHead: true, rewardHead: true, dropout: dropout)
        let model = try GPTModel(config: config, seed: 11)
        let batch = TokenBatch(tokens: randomTokens(b * t, vocab: config.vocabSize, seed: 12), batch: b, time: t,
                               attentionMask: mask)
        return (model, batch)
    }

    @Test func compactLogitsAreTheSelectedRowsOfTheFullLogits() throws {
        let (model, batch) = try makeModel()
        let v = model.config.vocabSize
        let c = model.config.channels
        model.forward(batch)
        let full = Array(model.logits), values = Array(model.values), hidden = Array(model.hiddenStates)
        model.forward(batch, logitRows: .only(rows))
        #expect(model.logitRows == .only(rows))
        let compact = Array(model.logits), compactValues = Array(model.values), compactHidden = Array(model.hiddenStates)
        #expect(compact.count == rows.count * v && compactValues.count == rows.count && compactHidden.count == rows.count * c)
        var worst: Float = 0
        for (i, row) in rows.enumerated() {
            for j in 0..<v { worst = max(worst, abs(compact[i * v + j] - full[row * v + j])) }
            for j in 0..<c { worst = max(worst, abs(compactHidden[i * c + j] - hidden[row * c + j])) }
            worst = max(worst, abs(compactValues[i] - values[row]))
        }
        #expect(worst <= 1e-5, "worst logit / hidden state / value difference \(worst)")

        // Switching back to the full head (same arena) still gives [B, T, V].
        model.forward(batch)
        #expect(Array(model.logits) == full)
    }

    /// Compact dLogits and dValues give the same parameter gradients as the same gradients scattered (and
    /// summed over repeated positions) into full [B, T, V] and [B, T] buffers.
    @Test func compactBackwardMatchesFullBackward() throws {
        let (model, batch) = try makeModel()
        let v = model.config.vocabSize
        let dCompact = randomFloats(rows.count * v, seed: 13), dValuesCompact = randomFloats(rows.count, seed: 14)
        var dFull = [Float](repeating: 0, count: b * t * v), dValues = [Float](repeating: 0, count: b * t)
        for (i, row) in rows.enumerated() {
            for j in 0..<v { dFull[row * v + j] += dCompact[i * v + j] }
            dValues[row] += dValuesCompact[i]
        }

        model.forward(batch)
        model.zeroGradients()
        dFull.withUnsafeBufferPointer { model.backward(dLogits: $0.baseAddress, dValues: dValues) }
        let expected = model.gradients.array

        model.forward(batch, logitRows: .only(rows))
        model.zeroGradients()
        dCompact.withUnsafeBufferPointer { model.backward(dLogits: $0.baseAddress, dValues: dValuesCompact) }
        let got = model.gradients.array

        for tensor in model.layout.tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            let scale = max(range.map { abs(expected[$0]) }.max()!, 1e-3)
            let worst = range.map { abs(got[$0] - expected[$0]) }.max()!
            #expect(worst <= 1e-5 * scale, "\(tensor.name): worst difference \(worst) (scale \(scale))")
        }
    }

    /// The compact pass's gradient (LM and value heads) through the whole model matches finite
    /// differences, with dropout too.
    @Test(arguments: [false, true])
    func compactLogitsGradient(dropout: Bool) throws {
        let (model, batch) = try makeModel(dropout: dropout)
        let wL = randomFloats(rows.count * model.config.vocabSize, seed: 16), wV = randomFloats(rows.count, seed: 17)
        func loss() -> Double {
            model.dropoutPasses = 0  // same dropout masks for every evaluation
            model.forward(batch, logitRows: .only(rows), dropout: dropout)
            return weightedSum(UnsafeBufferPointer(model.logits), wL) + weightedSum(model.values, wV)
        }
        _ = loss()
        model.zeroGradients()
        wL.withUnsafeBufferPointer { model.backward(dLogits: $0.baseAddress, dValues: wV) }
        let (error, tensor) = worstParameterGradientError(model: model, loss: loss)
        #expect(error < 3e-3, "dropout \(dropout): worst relative error \(error) in \(tensor)")
    }
}
