#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensor

extension GPTModel {
    /// Beam search with a KV cache, as transformers' `generate(num_beams=…, do_sample=False,
    /// length_penalty=…, early_stopping=…)`: see `BeamState` for the rules. Each prompt's numBeams beams
    /// are rows of one left-padded batch; after every step each row takes the cache of the beam it
    /// continues. Deterministic (no random numbers). Requires every prompt to be non-empty and
    /// (longest prompt + maxNewTokens) ≤ n_positions.
    public func beamSearch(prompts: [[Int32]], options: BeamSearchOptions) -> BeamGeneration {
        let v = config.vocabSize, beams = options.numBeams
        precondition(options.maxNewTokens >= 1, "beamSearch: maxNewTokens must be ≥ 1")
        precondition(beams >= 1 && beams <= v, "beamSearch: numBeams must be in 1…vocab_size (\(v))")
        precondition(options.numReturnSequences >= 1 && options.numReturnSequences <= beams,
                     "beamSearch: numReturnSequences must be in 1…numBeams")
        precondition(prompts.allSatisfy { !$0.isEmpty }, "beamSearch: every prompt needs at least one token")
        let longest = prompts.map(\.count).max() ?? 0
        precondition(longest + options.maxNewTokens <= config.maxPositions,
                     "beamSearch: prompt (\(longest)) + maxNewTokens (\(options.maxNewTokens)) exceeds n_positions \(config.maxPositions)")
        for token in prompts.joined() where token < 0 || Int(token) >= v {
            preconditionFailure("beamSearch: prompt token \(token) outside vocabulary 0..<\(v)")
        }
        if prompts.isEmpty { return BeamGeneration(hypotheses: []) }

        // Rows p·beams ..< (p+1)·beams are prompt p's beams.
        let batch = TokenBatch.leftPadded(prompts.flatMap { Array(repeating: $0, count: beams) }, padToken: 0)
        let rows = batch.batch, tp = batch.time
        let cache = prefilledCache(batch, mask: batch.attentionMask ?? [Int32](repeating: 1, count: rows * tp),
                                   capacity: tp + options.maxNewTokens)
        forwardIncremental(cache, start: 0, n: tp)

        var states = prompts.map { _ in BeamState(options: options, vocab: v) }
        let logProbs = FloatBuffer(count: beams * v)
        for step in 0..<options.maxNewTokens {
            var sources = Array(0..<rows)
            var next = [Int32](repeating: 0, count: rows)
            for p in states.indices where !states[p].done {
                for k in 0..<beams {
                    logSoftmax(cache.logits.pointer + (p * beams + k) * v, into: logProbs.pointer + k * v, count: v)
                    if step < options.minNewTokens, let eos = options.eosTokenID { logProbs[k * v + Int(eos)] = -.infinity }
                }
                for (k, continuation) in states[p].advance(logProbs: logProbs.pointer, step: step).enumerated() {
                    sources[p * beams + k] = p * beams + continuation.parent
                    next[p * beams + k] = continuation.token
                }
            }
            if states.allSatisfy(\.done) { break }
            // Finished prompts' rows run on with stale tokens (their results are settled).
            cache.reorderRows(sources, filled: tp + step)
            for row in 0..<rows {
                cache.tokens[row] = next[row]
                cache.positions[row] = Int32(prompts[row / beams].count + step)
            }
            forwardIncremental(cache, start: tp + step, n: 1)
        }
        return BeamGeneration(hypotheses: states.map { $0.results(count: options.numReturnSequences) })
    }

    /// out[j] = z[j] − max − log Σ exp(z − max): the next-token log-probs of one row of logits.
    private func logSoftmax(_ z: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count v: Int) {
        let m = vectorMax(z, count: v)
        var sum: Double = 0
        for j in 0..<v { sum += Double(exp(z[j] - m)) }
        let shift = m + Float(log(sum))
        for j in 0..<v { out[j] = z[j] - shift }
    }
}
