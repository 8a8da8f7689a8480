#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import Tensor
@testable import Models

@Suite("Beam search")
struct BeamSearchTests {
    let prompts: [[Int32]] = [[3, 1, 4, 1, 5], [9, 2], [6, 5, 3, 5]]

    func model(seed: UInt64 = 31) throws -> GPTModel {
        var config = tinyConfig()
        config.maxPositions = 24
        config.initializerRange = 0.5   // peaked distributions: beams disagree with greedy
        return try GPTModel(config: config, seed: seed)
    }

    /// Σ log p of `tokens` after `prompt` by one full forward pass (no cache).
    func sequenceLogProb(_ model: GPTModel, prompt: [Int32], tokens: [Int32]) -> Double {
        let sequence = prompt + tokens, v = model.config.vocabSize
        model.forward(TokenBatch(tokens: sequence, batch: 1, time: sequence.count))
        var total = 0.0
        for (i, token) in tokens.enumerated() {
            let row = Array(model.logits[(prompt.count - 1 + i) * v ..< (prompt.count + i) * v])
            let m = row.max()!
            let logSum = log(row.reduce(0.0) { $0 + exp(Double($1 - m)) }) + Double(m)
            total += Double(row[Int(token)]) - logSum
        }
        return total
    }

    /// One beam is greedy decoding, for any length penalty and with EOS.
    @Test(arguments: [Float(1), 0, 2, -1])
    func oneBeamIsGreedy(lengthPenalty: Float) throws {
        let model = try model()
        for eos: Int32? in [nil, 7] {
            var greedy = SamplingOptions(maxNewTokens: 9, greedy: true, eosTokenID: eos)
            greedy.padTokenID = 0
            let reference = model.generate(prompts: TokenBatch.leftPadded(prompts, padToken: 0), options: greedy)
            let beam = model.beamSearch(prompts: prompts, options: BeamSearchOptions(
                maxNewTokens: 9, numBeams: 1, lengthPenalty: lengthPenalty, eosTokenID: eos))
            for p in prompts.indices {
                #expect(beam.hypotheses[p].count == 1)
                #expect(beam.best[p].tokens == Array(reference.row(p)), "prompt \(p), eos \(String(describing: eos))")
            }
        }
    }

    /// Hypotheses come best first; each score is its log-prob over length^penalty, and each log-prob is
    /// the sequence's log-likelihood recomputed without a cache (so the beams' cache reordering is right).
    @Test(arguments: [Float(1), 0.5, 2])
    func hypothesesAreSortedAndScoredByTheirLikelihood(lengthPenalty: Float) throws {
        let model = try model()
        let options = BeamSearchOptions(maxNewTokens: 8, numBeams: 4, lengthPenalty: lengthPenalty, numReturnSequences: 4, eosTokenID: 7)
        let result = model.beamSearch(prompts: prompts, options: options)
        #expect(result.hypotheses.count == prompts.count)
        for (p, hypotheses) in result.hypotheses.enumerated() {
            #expect(hypotheses.count == 4)
            #expect(Set(hypotheses.map(\.tokens)).count == 4, "prompt \(p): hypotheses are distinct")
            for (a, b) in zip(hypotheses, hypotheses.dropFirst()) { #expect(a.score >= b.score) }
            for h in hypotheses {
                let expected = Double(h.logProb) / pow(Double(h.tokens.count), Double(lengthPenalty))
                #expect(abs(Double(h.score) - expected) < 1e-4)
                #expect(abs(sequenceLogProb(model, prompt: prompts[p], tokens: h.tokens) - Double(h.logProb)) < 1e-3,
                        "prompt \(p) \(h.tokens)")
            }
        }
    }

    /// With as many beams as tokens and two new tokens the search is exhaustive: its hypotheses are the
    /// best two-token continuations of all V², in order.
    @Test func exhaustiveSearchFindsTheBestSequences() throws {
        let model = try model(seed: 32)
        let v = model.config.vocabSize
        let result = model.beamSearch(prompts: prompts, options: BeamSearchOptions(maxNewTokens: 2, numBeams: v, numReturnSequences: v))
        for (p, prompt) in prompts.enumerated() {
            var all: [(tokens: [Int32], logProb: Double)] = []
            for a in 0..<v { for b in 0..<v { all.append(([Int32(a), Int32(b)], sequenceLogProb(model, prompt: prompt, tokens: [Int32(a), Int32(b)]))) } }
            all.sort { $0.logProb > $1.logProb }
            #expect(result.hypotheses[p].map(\.tokens) == all.prefix(v).map(\.tokens), "prompt \(p)")
        }
        // Beam search finds a better (higher-likelihood) first answer than greedy on some prompt.
        let greedy = model.beamSearch(prompts: prompts, options: BeamSearchOptions(maxNewTokens: 2, numBeams: 1))
        #expect(zip(greedy.best, result.best).allSatisfy { $0.logProb <= $1.logProb + 1e-6 })
    }

    /// A hypothesis ends at its first EOS (kept) or at maxNewTokens; EOS never comes before minNewTokens.
    @Test func hypothesesEndAtEOS() throws {
        let model = try model()
        // The EOS: a token the model likes (greedy's second token after the first prompt).
        let greedy = model.beamSearch(prompts: prompts, options: BeamSearchOptions(maxNewTokens: 3, numBeams: 1))
        let eos = greedy.best[0].tokens[1]
        for minNew in [0, 2] {
            let result = model.beamSearch(prompts: prompts, options: BeamSearchOptions(
                maxNewTokens: 10, numBeams: 3, numReturnSequences: 3, eosTokenID: eos, minNewTokens: minNew))
            var endedEarly = 0
            for hypotheses in result.hypotheses {
                for h in hypotheses {
                    #expect(!h.tokens.dropLast().contains(eos))
                    #expect(h.tokens.count == 10 || h.tokens.last == eos)
                    if h.tokens.count < 10 { endedEarly += 1 }
                    if let first = h.tokens.firstIndex(of: eos) { #expect(first >= minNew) }
                }
            }
            #expect(endedEarly > 0, "some hypothesis ends with EOS (min_new_tokens \(minNew))")
        }
    }

    /// early_stopping=True stops once numBeams hypotheses finished; "never" keeps searching, so it finds
    /// hypotheses at least as good as the default heuristic's.
    @Test func earlyStoppingModes() throws {
        let model = try model()
        let greedy = model.beamSearch(prompts: prompts, options: BeamSearchOptions(maxNewTokens: 3, numBeams: 1))
        let eos = greedy.best[0].tokens[1]
        var best: [BeamStopping: [BeamHypothesis]] = [:]
        for stopping in BeamStopping.allCases {
            best[stopping] = model.beamSearch(prompts: prompts, options: BeamSearchOptions(
                maxNewTokens: 12, numBeams: 3, lengthPenalty: 1, earlyStopping: stopping, eosTokenID: eos)).best
        }
        for p in prompts.indices {
            #expect(best[.never]![p].score >= best[.heuristic]![p].score - 1e-6)
            #expect(best[.heuristic]![p].score >= best[.whenFull]![p].score - 1e-6)
        }
    }

    /// Same inputs, same hypotheses; in blocks on replicas, the same for 1 or 3 threads and as one prompt
    /// at a time.
    @Test func deterministicAndIndependentOfBlocksAndThreads() throws {
        let model = try model()
        let options = BeamSearchOptions(maxNewTokens: 7, numBeams: 3, lengthPenalty: 0.7, numReturnSequences: 2, eosTokenID: 7)
        let many = (0..<9).map { prompts[$0 % 3] + [Int32($0)] }
        let once = model.beamSearch(prompts: many, options: options)
        #expect(model.beamSearch(prompts: many, options: options) == once)
        let single = many.map { model.beamSearch(prompts: [$0], options: options).hypotheses[0] }
        let threeThreads = ModelReplicas(model, pool: WorkerPool(threads: 3)).beamSearch(prompts: many, options: options)
        let oneThread = ModelReplicas(model, pool: WorkerPool(threads: 1)).beamSearch(prompts: many, options: options)
        #expect(threeThreads == oneThread)
        for p in many.indices {
            #expect(once.hypotheses[p].map(\.tokens) == single[p].map(\.tokens))
            #expect(threeThreads.hypotheses[p].map(\.tokens) == single[p].map(\.tokens))
        }
    }
}
