import Testing
import Tensor
@testable import Models

@Suite("KV-cache sampling and padding")
struct SamplingTests {
    let prompts: [[Int32]] = [[3, 1, 4, 1, 5], [9, 2], [6, 5, 3, 5]]

    /// Sampling by full re-forward of the whole sequence at every step, with the same uniforms.
    func referenceGeneration(model: GPTModel, options: SamplingOptions) -> (tokens: [[Int32]], logProbs: [[Float]]) {
        let v = model.config.vocabSize
        var sequences = prompts
        var tokens = [[Int32]](repeating: [], count: prompts.count), logProbs = [[Float]](repeating: [], count: prompts.count)
        var finished = [Bool](repeating: false, count: prompts.count)
        let selector = TokenSelector(options: options, vocab: v)
        let scratch = FloatBuffer(count: v), order = Int32Buffer(capacity: v), row = FloatBuffer(count: v)
        for step in 0..<options.maxNewTokens {
            let batch = TokenBatch.leftPadded(sequences, padToken: 0)
            model.forward(batch)
            for b in 0..<prompts.count where !finished[b] {
                row.pointer.update(from: model.logits.baseAddress! + (b * batch.time + batch.time - 1) * v, count: v)
                let (token, lp) = selector.select(
                    logits: row.pointer, uniform: Philox(seed: options.seed).uniformDouble(stream: UInt64(b), index: UInt64(step)),
                    suppress: step < options.minNewTokens ? options.eosTokenID : nil, scratch: scratch.pointer, order: order.pointer)
                tokens[b].append(token)
                logProbs[b].append(lp)
                if token == options.eosTokenID { finished[b] = true }
            }
            for b in 0..<prompts.count { sequences[b].append(tokens[b].last ?? 0) }
            if finished.allSatisfy({ $0 }) { break }
        }
        return (tokens, logProbs)
    }

    @Test(arguments: [
        SamplingOptions(maxNewTokens: 6, seed: 11),
        SamplingOptions(maxNewTokens: 6, temperature: 0.7, topK: 4, seed: 12),
        SamplingOptions(maxNewTokens: 6, temperature: 1.3, topP: 0.8, seed: 13),
        SamplingOptions(maxNewTokens: 6, greedy: true),
        SamplingOptions(maxNewTokens: 7, eosTokenID: 2, minNewTokens: 1, padTokenID: 0, seed: 14),
    ])
    func cachedEqualsFullReforward(options: SamplingOptions) throws {
        let model = try GPTModel(config: tinyConfig(), seed: 21)
        let generation = model.generate(prompts: TokenBatch.leftPadded(prompts, padToken: 0), options: options)
        let reference = referenceGeneration(model: model, options: options)
        for b in 0..<prompts.count {
            #expect(Array(generation.row(b)) == reference.tokens[b], "row \(b)")
            let lps = generation.logProbs[b * generation.steps ..< b * generation.steps + generation.lengths[b]]
            for (x, y) in zip(lps, reference.logProbs[b]) { #expect(abs(x - y) < 1e-4) }
            #expect(lps.allSatisfy { $0 <= 0 && $0.isFinite })
        }
        if let eos = options.eosTokenID {
            for b in 0..<prompts.count {
                let row = generation.row(b)
                // Stops right after EOS; the rest of the row is padding with log-prob 0.
                if row.last == eos {
                    #expect(row.dropLast().allSatisfy { $0 != eos })
                    for s in generation.lengths[b]..<generation.steps {
                        #expect(generation.tokens[b * generation.steps + s] == options.padTokenID)
                        #expect(generation.logProbs[b * generation.steps + s] == 0)
                    }
                } else {
                    #expect(generation.lengths[b] == generation.steps)
                }
                #expect(row.first != eos)  // minNewTokens: 1 suppresses an immediate EOS
            }
        }
    }

    @Test func sameSeedSameSamplesDifferentSeedDifferent() throws {
        let model = try GPTModel(config: tinyConfig(), seed: 22)
        let batch = TokenBatch.leftPadded(prompts, padToken: 0)
        let a = model.generate(prompts: batch, options: SamplingOptions(maxNewTokens: 6, seed: 1))
        let b = model.generate(prompts: batch, options: SamplingOptions(maxNewTokens: 6, seed: 1))
        let c = model.generate(prompts: batch, options: SamplingOptions(maxNewTokens: 6, seed: 2))
        #expect(a == b)
        #expect(a.tokens != c.tokens)
    }

    /// A left-padded row has the same logits (at its real positions) as the same sequence unpadded,
    /// for every head.
    @Test func leftPaddingMatchesUnpadded() throws {
        let model = try GPTModel(config: tinyConfig(valueHead: true, rewardHead: true), seed: 23)
        let v = model.config.vocabSize
        let padded = TokenBatch.leftPadded(prompts, padToken: 7)
        model.forward(padded)
        let logits = Array(model.logits), values = Array(model.values), rewards = Array(model.rewards)
        for (b, row) in prompts.enumerated() {
            model.forward(TokenBatch(tokens: row, batch: 1, time: row.count))
            let pad = padded.time - row.count
            for t in 0..<row.count {
                for j in 0..<v {
                    #expect(abs(logits[(b * padded.time + pad + t) * v + j] - model.logits[t * v + j]) < 1e-5)
                }
                #expect(abs(values[b * padded.time + pad + t] - model.values[t]) < 1e-5)
            }
            #expect(abs(rewards[b] - model.rewards[0]) < 1e-5)
        }
    }
}
