import Models
import Tensor
import Tokenizer

extension EvaluateStage {
    /// One model's answers to every held-out prompt by `decoding` (`perPrompt` each), scored by the
    /// reward sources, with the log-ratio Σ_t log π − log π_ref over each answer's tokens (at the
    /// decoding's scoring temperature). With `eos`, answers end at their first EOS (kept; pads after it
    /// are masked out of every score).
    static func answers(_ model: ModelReplicas, _ decoding: EvaluationDecoding, prompts: [[Int32]],
                        columns promptColumns: [String: [RewardJSON]], baseline: ModelReplicas, scorer: RewardScorer,
                        tokenizer: PretrainedTokenizer, length: Int, pad: Int32, eos: Int32?, seed: UInt64,
                        rewardFlags: inout [(String, Double)]) throws -> [Sample] {
        let perPrompt = decoding.perPrompt, temperature = decoding.scoringTemperature
        let queries = prompts.flatMap { Array(repeating: $0, count: perPrompt) }
        let columns = promptColumns.mapValues { values in values.flatMap { Array(repeating: $0, count: perPrompt) } }
        // Same seed for both models: paired samples (common random numbers).
        var random = RandomStream(seed: seed, stream: streamID(0x4556_414C)) // "EVAL"
        var samples: [Sample] = []
        for start in Swift.stride(from: 0, to: queries.count, by: 64) {
            let chunk = Array(queries[start..<min(queries.count, start + 64)])
            let (responses, lengths) = decoding.responses(model, queries: chunk, length: length, pad: pad, eos: eos, random: &random)
            var mask = [Float](repeating: 1, count: responses.count)
            for (i, n) in lengths.enumerated() where n < length {
                for t in n..<length { mask[i * length + t] = 0 }
            }
            let qr = QueryResponseBatch(queries: chunk, responses: responses, responseMask: mask, responseLength: length, pad: pad)
            let own = model.scoreResponses(qr, temperature: temperature, entropy: false)
            let ref = baseline.scoreResponses(qr, temperature: temperature, entropy: false)
            let rows = chunk.indices.map { Array(responses[($0 * length)..<($0 * length + lengths[$0])]) }
            let promptTexts = chunk.map { tokenizer.decode($0, skipSpecial: true) }
            let responseTexts = rows.map { tokenizer.decode($0, skipSpecial: true) }
            let scored = try scorer.score(RewardRequest(
                prompts: promptTexts, completions: responseTexts,
                columns: columns.mapValues { Array($0[start..<(start + chunk.count)]) },
                tokens: .init(queries: chunk, responses: rows, assembled: qr)))
            rewardFlags += scored.metrics.filter { $0.0.hasSuffix("/nondeterministic") }
            for (i, q) in chunk.enumerated() {
                var s = Sample(promptTokens: q, responseTokens: rows[i], promptText: promptTexts[i], responseText: responseTexts[i])
                s.rmReward = Double(scored.rewards[i])
                if scorer.sources.components.count > 1 { s.sourceRewards = scored.components.map { Double($0.rewards[i]) } }
                var kl = 0.0
                for t in 0..<lengths[i] { kl += Double(own.logp[i * length + t] - ref.logp[i * length + t]) }
                s.klToReference = kl
                samples.append(s)
            }
        }
        return samples
    }
}
