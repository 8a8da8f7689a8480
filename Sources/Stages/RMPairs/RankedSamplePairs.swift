import Foundation
import Models
import Tensor
import Tokenizer

/// The `ranked_samples` strategy of rm-pairs: the SFT model (`model`) answers each prompt of a dataset
/// (`data`: prompt, prompt-completion or preference records through the prompt template) k times, the
/// stage's reward sources (`reward_sources`: a rule against the record's columns, a reward model on the
/// `reward` input, a command, an HTTP endpoint or a weighted sum) rank the k answers, and the best and
/// the worst become a pair. Pairs then come from the policy's own distribution, labelled by any scorer:
/// reward-model pairs from ranked SFT samples (the ChatGLM RLHF project's finding: better than random
/// negatives), or DPO pairs ranked by a reward model (online-style DPO).
///
/// Answers are sampled as PPO samples them with `truncate_eos`: each stops at its first EOS, which stays
/// in the pair, so the reward model later reads the same shape it is asked to score.
enum RankedSamplePairs {
    /// One batch's prompts: at most this many rows (prompts × k) are sampled at a time.
    static let rowsPerBatch = 64

    static func run(_ context: StageContext, _ o: RMPairsStage.Options) throws {
        guard let modelDir = try? context.inputPath("model") else {
            throw StageError.badInput("model", "strategy 'ranked_samples' needs the `model` input: the SFT model that writes the answers")
        }
        // Prompts: a dataset's records, else openings (prompt_tokens long) of the token files' documents.
        let dataDir = try? context.inputPath("data"), tokensDir = try? context.inputPath("tokens")
        guard dataDir != nil || tokensDir != nil else {
            throw StageError.badInput("data", "strategy 'ranked_samples' needs the `data` input (a dataset whose prompts, and columns for rules, the model answers) or the `tokens` input (document openings as prompts)")
        }
        let dataset = try dataDir.map { try DatasetReader(directory: $0) }
        try dataset?.require([.prompt, .promptCompletion, .preference], input: "data")
        let model = try ModelArtifacts.load(modelDir, input: "model")
        let tokenizer = try ModelArtifacts.tokenizer(in: modelDir, input: "model")
        let template = try TemplateFile.resolve(context.params, storedWith: modelDir)
        let records = TemplatedRecords(template: template, tokenizer: tokenizer)
        let maxPrompt = model.config.maxPositions - o.responseTokens
        guard maxPrompt >= 2 else {
            throw StageError.badParam("response_tokens", "\(o.responseTokens) tokens leave no room for a prompt in the model's \(model.config.maxPositions) positions")
        }
        func prompts(_ split: String) throws -> PromptSet? {
            if let dataset {
                guard (dataset.manifest.count(of: split) ?? 0) > 0 else { return nil }
                return try PromptSet.build(fixed: [], corpusPrompts: 0, promptTokens: 1, records: records, train: nil,
                                           dataset: dataset, split: split, maxTokens: maxPrompt)
            }
            let documents = try TokenFile.read(split: split, in: tokensDir!)
            guard documents.count > 0 else { return nil }
            return try PromptSet.build(fixed: [], corpusPrompts: documents.count, promptTokens: o.promptTokens, records: records,
                                       train: documents, maxTokens: maxPrompt)
        }
        guard let train = try prompts("train") else {
            throw StageError.badInput(dataset == nil ? "tokens" : "data", "the train split is empty: no prompts to answer")
        }
        let valid = try prompts("valid")
        let validCount = valid == nil ? 0 : max(1, Int((Double(o.pairs) * o.validFraction).rounded()))
        let trainCount = max(1, o.pairs - validCount)

        let pool = WorkerPool(threads: context.threads)
        let replicas = ModelReplicas(model, pool: pool)
        let columns = Array(Set(train.columnNames + (valid?.columnNames ?? []))).sorted()
        let scorer = try RewardScorer.forStage(try RewardSettings(context.params), context: context, policy: model,
                                               tokenizer: tokenizer, columns: columns, pool: pool)
        defer { scorer.close() }
        context.log("rm-pairs (ranked_samples, template \(JSONText.quoted(template.text))): \(o.k) answers of \(o.responseTokens) tokens per prompt, ranked by \(scorer.sources.components.map(\.name).joined(separator: " + "))")

        var random = RandomStream(seed: context.seed, stream: streamID(0x5241_4E4B)) // "RANK"
        let sampler = Sampler(replicas: replicas, scorer: scorer, tokenizer: tokenizer, options: o, context: context)
        let trainPairs = try sampler.pairs(from: train, count: trainCount, split: "train", random: &random)
        let validPairs = try valid.map { try sampler.pairs(from: $0, count: validCount, split: "valid", random: &random) } ?? []
        let out = try context.outputPath("pairs")
        try PreferencePairsFile.write(trainPairs, to: out + "/" + PreferencePairsFile.trainName)
        try PreferencePairsFile.write(validPairs, to: out + "/" + PreferencePairsFile.validName)
        let all = trainPairs + validPairs
        let chosen = all.reduce(0.0) { $0 + ($1.chosenScore ?? 0) } / Double(max(1, all.count))
        let rejected = all.reduce(0.0) { $0 + ($1.rejectedScore ?? 0) } / Double(max(1, all.count))
        context.metrics(step: 0, [("pairs/chosen_score_mean", chosen), ("pairs/rejected_score_mean", rejected),
                                  ("pairs/sample_score_mean", sampler.scoreSum / Double(max(1, sampler.sampled))),
                                  ("pairs/prompts_with_a_pair", Double(all.count) / Double(max(1, sampler.prompted)))])
        context.log("rm-pairs (ranked_samples): \(trainPairs.count) training pairs, \(validPairs.count) held-out pairs from \(sampler.prompted) prompts; sample score mean \(JSONText.number(sampler.scoreSum / Double(max(1, sampler.sampled)))), chosen \(JSONText.number(chosen)), rejected \(JSONText.number(rejected))")
        if valid == nil { context.log("note: the dataset has no valid split: no held-out pairs") }
    }

    /// Samples, scores and pairs; counts what it did for the stage log.
    final class Sampler {
        let replicas: ModelReplicas
        let scorer: RewardScorer
        let tokenizer: PretrainedTokenizer
        let o: RMPairsStage.Options
        let context: StageContext
        private(set) var prompted = 0, sampled = 0
        private(set) var scoreSum = 0.0

        init(replicas: ModelReplicas, scorer: RewardScorer, tokenizer: PretrainedTokenizer, options: RMPairsStage.Options, context: StageContext) {
            self.replicas = replicas; self.scorer = scorer; self.tokenizer = tokenizer; self.o = options; self.context = context
        }

        /// `count` pairs from the prompts of `set`, taken in order (cycling when there are fewer), each
        /// answered k times; a prompt whose k answers all score the same gives no pair.
        func pairs(from set: PromptSet, count: Int, split: String, random: inout RandomStream) throws -> [PreferencePair] {
            let eos = tokenizer.endOfTextId, pad = tokenizer.padId
            let columns = set.rewardColumns
            let promptsPerBatch = max(1, RankedSamplePairs.rowsPerBatch / o.k)
            var pairs: [PreferencePair] = []
            var next = 0, attempts = 0
            // Bounded, so a model whose answers always tie (or a constant scorer) ends in an error, not a loop.
            let maxPrompts = 20 * count + 64
            let clock = ProgressClock()
            while pairs.count < count {
                guard attempts < maxPrompts else {
                    throw StageError.failed("rm-pairs ranked_samples: only \(pairs.count) of \(count) \(split) prompts gave answers the reward sources scored differently after \(attempts) prompts; raise k or temperature, or check that the scorer can tell answers apart")
                }
                let n = min(promptsPerBatch, count - pairs.count)
                let picked = (0..<n).map { (next + $0) % set.tokens.count }
                next += n; attempts += n; prompted += n
                let queries = picked.flatMap { Array(repeating: set.tokens[$0], count: o.k) }
                let rowColumns = columns.mapValues { values in picked.flatMap { Array(repeating: values[$0], count: o.k) } }
                let flat = ResponseSampler.sample(replicas, queries: queries, length: o.responseTokens, temperature: o.temperature,
                                                  pad: pad, eos: eos, random: &random)
                // Each answer up to and including its first EOS (the sampler pads after it).
                let responses = queries.indices.map { row -> [Int32] in
                    let tokens = flat[(row * o.responseTokens)..<((row + 1) * o.responseTokens)]
                    if let end = tokens.firstIndex(of: eos) { return Array(tokens[...end]) }
                    return Array(tokens)
                }
                let scores = try scorer.score(queries: queries, responses: responses, columns: rowColumns).rewards
                sampled += scores.count
                scoreSum += scores.reduce(0.0) { $0 + Double($1) }
                for p in 0..<n {
                    let group = (p * o.k)..<((p + 1) * o.k)
                    // Ties: the first best and the last worst, so equal scores never pair an answer with itself.
                    guard let best = group.max(by: { scores[$0] < scores[$1] }),
                          let worst = group.reversed().min(by: { scores[$0] < scores[$1] }),
                          scores[best] > scores[worst], responses[best] != responses[worst] else { continue }
                    let c = fit(queries[best], responses[best]), r = fit(queries[worst], responses[worst])
                    pairs.append(PreferencePair(chosen: c.tokens, rejected: r.tokens, promptLength: min(c.promptLength, r.promptLength),
                                                chosenText: tokenizer.decode(c.tokens, skipSpecial: true),
                                                rejectedText: tokenizer.decode(r.tokens, skipSpecial: true),
                                                chosenScore: Double(scores[best]), rejectedScore: Double(scores[worst])))
                }
                context.progress(phase: "sample \(split)", step: pairs.count, total: count, message: clock.eta(step: pairs.count, total: count))
            }
            return pairs
        }

        /// Query + answer within max_tokens: the oldest prompt tokens after the separator go first, so the
        /// answer survives (as the dataset strategy cuts).
        func fit(_ query: [Int32], _ response: [Int32]) -> (tokens: [Int32], promptLength: Int) {
            var tokens = query + response
            var promptLength = query.count
            if tokens.count > o.maxTokens {
                let drop = min(tokens.count - o.maxTokens, max(0, query.count - 1))
                if drop > 0 { tokens.removeSubrange(1...drop) }
                promptLength -= drop
                if tokens.count > o.maxTokens { tokens = Array(tokens.prefix(o.maxTokens)) }
            }
            return (tokens, promptLength)
        }
    }
}
