import Models
import Tensor
import Testing
@testable import Stages

/// The GRPO loss of every type, through a small model (compact scoring, its backward, the whole GPT):
/// analytic parameter gradients against central differences of the loss.
@Suite struct GRPOGradientTests {
    /// Left-padded queries, an EOS-truncated row, π_old and π_ref offset from π_θ so that ratios fall on
    /// both sides of both clip bounds and the KL term is non-trivial.
    func fixture() throws -> (GPTModel, QueryResponseBatch, mask: [Float], old: [Float], ref: [Float], advantages: [Float]) {
        var config = GPTConfig(vocabSize: 23, maxPositions: 16, channels: 16, layers: 2, heads: 2)
        config.initializerRange = 0.3
        let model = try GPTModel(config: config, seed: 31)
        var random = RandomStream(seed: 32, stream: 0)
        let r = 4
        let queries: [[Int32]] = [[3, 4, 5], [7], [9, 10], [1, 2, 3, 4]]
        let responses = (0..<(queries.count * r)).map { _ in Int32(1 + random.nextInt(below: 22)) }
        var mask = [Float](repeating: 1, count: queries.count * r)
        mask[r + 2] = 0; mask[r + 3] = 0
        let qr = QueryResponseBatch(queries: queries, responses: responses, responseMask: mask, responseLength: r, pad: 0)
        let logp = ResponseScoring.score(model, qr, temperature: 0.8, entropy: false).logp
        // ln ratio offsets away from the clip bounds (ln 0.8 ≈ −0.22, ln 1.28 ≈ 0.25) by more than a step moves them.
        let offsets: [Float] = [0.0, 0.4, -0.4, 0.1, -0.1, 0.35, 0.05, -0.5, 0.2, -0.3, 0.0, 0.15, -0.05, 0.45, -0.35, 0.1]
        let old = zip(logp, offsets).map { $0 - $1 }
        let ref = logp.indices.map { logp[$0] + Float(random.nextInt(below: 1001) - 500) / 1000 }
        return (model, qr, mask, old, ref, [1.2, -0.7, 0.4, -1.5])
    }

    @Test(arguments: GRPOLossType.allCases)
    func lossGradientThroughTheModelMatchesFiniteDifferences(type: GRPOLossType) throws {
        let (model, qr, mask, old, ref, advantages) = try fixture()
        func lossValue() -> GRPOMath.Loss {
            let logp = ResponseScoring.score(model, qr, temperature: 0.8, entropy: false).logp
            return GRPOMath.loss(logp: logp, oldLogp: old, refLogp: ref, advantages: advantages, mask: mask,
                                 length: qr.responseLength, lossType: type, epsilonLow: 0.2, epsilonHigh: 0.28,
                                 beta: 0.1, maxCompletionLength: qr.responseLength)
        }
        let atStart = lossValue()
        #expect(atStart.clipLow > 0 && atStart.clipHigh > 0, "the fixture should clip on both sides")
        model.zeroGradients()
        ResponseScoring.backward(model, qr, temperature: 0.8, dLogp: atStart.gradient, dValues: nil)
        let analytic = model.gradients.array

        var worst = (error: 0.0, tensor: ""), reached = 0
        let step: Float = 1e-2
        for (ti, tensor) in model.layout.tensors.enumerated() {
            var sampler = RandomStream(seed: UInt64(ti), stream: 5)
            var worstAbs = 0.0, scale = 1e-3
            for _ in 0..<min(8, tensor.count) {
                let i = tensor.offset + sampler.nextInt(below: tensor.count)
                let saved = model.parameters[i]
                model.parameters[i] = saved + step
                let up = lossValue().loss
                model.parameters[i] = saved - step
                let down = lossValue().loss
                model.parameters[i] = saved
                let numeric = (up - down) / Double(2 * step)
                worstAbs = max(worstAbs, abs(numeric - Double(analytic[i])))
                scale = max(scale, abs(numeric))
            }
            if analytic[tensor.offset..<(tensor.offset + tensor.count)].contains(where: { $0 != 0 }) { reached += 1 }
            if worstAbs / scale > worst.error { worst = (worstAbs / scale, tensor.name) }
        }
        #expect(worst.error < 2e-2, "\(type): worst relative error \(worst.error) in \(worst.tensor)")
        // Vacuous if the loss reached no parameter.
        #expect(reached == model.layout.tensors.count)
    }
}
