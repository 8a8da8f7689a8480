import Models
import Tensor
import Testing
@testable import Stages

/// `ResponseScoring` runs the LM head only at the response-predicting positions (compact logits) of the
/// batch without its last column. These tests hold it to the straightforward computation: the whole
/// (B, P + R) batch with logits at every position, gather the response rows, and scatter their
/// gradients back into a full [B, T, V] dLogits.
@Suite struct ResponseScoringTests {
    static let vocab = 29

    /// Left-padded queries of different lengths; the second response is EOS-truncated after 3 tokens.
    func fixture() throws -> (GPTModel, QueryResponseBatch) {
        var config = GPTConfig(vocabSize: Self.vocab, maxPositions: 16, channels: 16, layers: 2, heads: 2, valueHead: true)
        config.initializerRange = 0.3
        let model = try GPTModel(config: config, seed: 21)
        var random = RandomStream(seed: 22, stream: 0)
        let r = 5
        let queries: [[Int32]] = [[3, 4, 5], [7], [9, 10], [1, 2, 3, 4]]
        let responses = (0..<(queries.count * r)).map { _ in Int32(1 + random.nextInt(below: Self.vocab - 1)) }
        var mask = [Float](repeating: 1, count: queries.count * r)
        for t in 3..<r { mask[r + t] = 0 }
        let qr = QueryResponseBatch(queries: queries, responses: responses, responseMask: mask, responseLength: r, pad: 0)
        return (model, qr)
    }

    /// Index into the whole (B, P + R) batch of the position that predicts response token `token`.
    func fullPosition(_ qr: QueryResponseBatch, row: Int, token: Int) -> Int {
        row * qr.batch.time + qr.queryLength - 1 + token
    }

    /// The full-logit reference: log-probs, entropies and values read at the predicting positions.
    func fullScores(_ model: GPTModel, _ qr: QueryResponseBatch, temperature: Float) -> ResponseScoring.Scores {
        model.forward(qr.batch)
        let b = qr.batch.batch, r = qr.responseLength, v = model.config.vocabSize
        var gathered: [Float] = [], targets: [Int32] = [], values: [Float] = []
        for row in 0..<b {
            for t in 0..<r {
                let at = fullPosition(qr, row: row, token: t)
                gathered += model.logits[(at * v)..<((at + 1) * v)]
                targets.append(qr.responseToken(row: row, token: t))
                values.append(model.values[at])
            }
        }
        var logp = [Float](repeating: 0, count: b * r), entropy = [Float](repeating: 0, count: b * r)
        tokenLogProbs(logProbs: &logp, entropy: &entropy, logits: gathered, targets: targets, temperature: temperature,
                      rows: b * r, vocab: v)
        return ResponseScoring.Scores(logp: logp, entropy: entropy, values: values)
    }

    /// The full-logit reference backward: dLogits of the response rows scattered into [B, T, V].
    func fullBackward(_ model: GPTModel, _ qr: QueryResponseBatch, temperature: Float, dLogp: [Float], dValues: [Float]) {
        model.forward(qr.batch)
        let b = qr.batch.batch, r = qr.responseLength, t = qr.batch.time, v = model.config.vocabSize
        var gathered: [Float] = [], targets: [Int32] = []
        for row in 0..<b {
            for tok in 0..<r {
                let at = fullPosition(qr, row: row, token: tok)
                gathered += model.logits[(at * v)..<((at + 1) * v)]
                targets.append(qr.responseToken(row: row, token: tok))
            }
        }
        var dRows = [Float](repeating: 0, count: b * r * v)
        tokenLogProbsBackward(dLogits: &dRows, logits: gathered, targets: targets, dLogProbs: dLogp, dEntropy: nil,
                              temperature: temperature, rows: b * r, vocab: v)
        var dLogits = [Float](repeating: 0, count: b * t * v), dV = [Float](repeating: 0, count: b * t)
        for row in 0..<b {
            for tok in 0..<r {
                let at = fullPosition(qr, row: row, token: tok), i = row * r + tok
                dLogits.replaceSubrange((at * v)..<((at + 1) * v), with: dRows[(i * v)..<((i + 1) * v)])
                dV[at] = dValues[i]
            }
        }
        model.zeroGradients()
        model.backward(dLogits: dLogits, dValues: dV)
    }

    func expectClose(_ a: [Float], _ b: [Float], tolerance: Float, _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, "\(what): \(a.count) vs \(b.count) entries", sourceLocation: sourceLocation)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= tolerance, "\(what): worst difference \(worst)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [Float(1), Float(0.7)])
    func scoresMatchTheFullLogitPath(temperature: Float) throws {
        let (model, qr) = try fixture()
        let expected = fullScores(model, qr, temperature: temperature)
        let got = ResponseScoring.score(model, qr, temperature: temperature, entropy: true)
        expectClose(got.logp, expected.logp, tolerance: 1e-5, "log-probs")
        expectClose(got.entropy!, expected.entropy!, tolerance: 1e-5, "entropies")
        expectClose(got.values!, expected.values!, tolerance: 1e-6, "values")
        let plain = ResponseScoring.score(model, qr, temperature: temperature, entropy: false)
        #expect(plain.entropy == nil)
        #expect(plain.logp == got.logp)
    }

    /// Every parameter gradient of a PPO-shaped loss (masked-out tokens get zero gradient) matches.
    @Test(arguments: [Float(1), Float(0.7)])
    func gradientsMatchTheFullLogitPath(temperature: Float) throws {
        let (model, qr) = try fixture()
        let n = qr.batch.batch * qr.responseLength
        var random = RandomStream(seed: 23, stream: 0)
        var dLogp = (0..<n).map { _ in Float(random.nextInt(below: 2001) - 1000) / 1000 }
        var dValues = (0..<n).map { _ in Float(random.nextInt(below: 2001) - 1000) / 5000 }
        for t in 3..<qr.responseLength { dLogp[qr.responseLength + t] = 0; dValues[qr.responseLength + t] = 0 }

        fullBackward(model, qr, temperature: temperature, dLogp: dLogp, dValues: dValues)
        let expected = model.gradients.array

        _ = ResponseScoring.score(model, qr, temperature: temperature, entropy: false)
        model.zeroGradients()
        ResponseScoring.backward(model, qr, temperature: temperature, dLogp: dLogp, dValues: dValues)
        let got = model.gradients.array

        var checked = 0
        for tensor in model.layout.tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            let scale = max(range.map { abs(expected[$0]) }.max()!, 1e-3)
            let worst = range.map { abs(got[$0] - expected[$0]) }.max()!
            #expect(worst <= 1e-5 * scale, "\(tensor.name): worst difference \(worst) (scale \(scale))")
            if expected[range].contains(where: { $0 != 0 }) { checked += 1 }
        }
        // The test is vacuous if the loss reached no parameter.
        #expect(checked == model.layout.tensors.count)

        // Without a value-head gradient the value head gets none.
        _ = ResponseScoring.score(model, qr, temperature: temperature, entropy: false)
        model.zeroGradients()
        ResponseScoring.backward(model, qr, temperature: temperature, dLogp: dLogp, dValues: nil)
        #expect(model.gradient("v_head.summary.weight")!.allSatisfy { $0 == 0 })
    }

    /// A minibatch of rows scores like the same rows of the whole batch.
    @Test func subBatchRowsScoreLikeTheirParentRows() throws {
        let (model, qr) = try fixture()
        let whole = ResponseScoring.score(model, qr, temperature: 1, entropy: false)
        let picked = [2, 0]
        let sub = qr.rows(picked)
        #expect(sub.scoringBatch.time == qr.batch.time - 1 && sub.batch.time == qr.batch.time)
        #expect(sub.responseTokens == picked.flatMap { row in (0..<qr.responseLength).map { qr.responseToken(row: row, token: $0) } })
        #expect(sub.predictingPositions == (0..<2).flatMap { row in (0..<qr.responseLength).map { sub.predictingPosition(row: row, token: $0) } })
        let part = ResponseScoring.score(model, sub, temperature: 1, entropy: false)
        let r = qr.responseLength
        let expected = picked.flatMap { whole.logp[($0 * r)..<(($0 + 1) * r)] }
        expectClose(part.logp, expected, tolerance: 1e-5, "minibatch log-probs")
    }
}
