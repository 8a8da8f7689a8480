import Foundation
import Models
import Tensor
import Tokenizer

/// `rm-pairs`: preference pairs for the reward model.
/// - `labels`: chosen = a positive review, rejected = a negative review of a similar length (same length
///   bucket). Training pairs are cut to the same random length so the RM learns sentiment from fragments
///   (PPO scores prompt + 16 tokens), not length; held-out pairs keep the first max_tokens tokens.
/// - `samples`: the SFT model writes k continuations of a review opening, the judge scores them; best vs
///   worst becomes a pair (the RM then learns the judge's preferences on the policy's own distribution).
/// - `dataset`: a preference dataset's records through the prompt template: [EOS] + prompt + chosen vs
///   [EOS] + prompt + rejected, with the record's margin.
/// - `ranked_samples`: the SFT model answers a dataset's prompts k times, the reward sources rank the
///   answers, best vs worst becomes a pair (`RankedSamplePairs`).
/// Training pairs come from the train split, held-out pairs from the valid split.
public enum RMPairsStage: BuiltinStage {
    public static let kind = "rm-pairs"

    /// The stage's params (docs and defaults in stages/rm-pairs.yaml).
    struct Options {
        var strategy: String
        var pairs: Int
        var validFraction: Double
        var maxTokens: Int
        var promptTokens: Int
        var responseTokens: Int
        var k: Int
        var temperature: Float

        init(_ p: StageParams) throws {
            _ = try TemplateFile.resolve(p, storedWith: nil)
            strategy = try p.string("strategy"); pairs = try p.int("pairs"); validFraction = try p.double("valid_fraction")
            maxTokens = try p.int("max_tokens"); promptTokens = try p.int("prompt_tokens")
            responseTokens = try p.int("response_tokens"); k = try p.int("k"); temperature = try p.float("temperature")
        }
    }

    public static func checkParams(_ params: StageParams) throws {
        _ = try Options(params)
        _ = try RewardSettings(params)
    }

    public static func run(_ context: StageContext) throws {
        let o = try Options(context.params)
        if o.strategy == "dataset" { return try datasetPairs(context, o) }
        if o.strategy == "ranked_samples" { return try RankedSamplePairs.run(context, o) }
        let tokensDir = try context.inputPath("tokens")
        let validCount = max(1, Int((Double(o.pairs) * o.validFraction).rounded()))
        let trainCount = max(1, o.pairs - validCount)
        var random = RandomStream(seed: context.seed, stream: streamID(0x5041_4952)) // "PAIR"
        let train: [PreferencePair], valid: [PreferencePair]
        switch o.strategy {
        case "labels":
            let tokenizer = try tokenizerForLabels(context)
            let eos = tokenizer.endOfTextId
            train = try labelPairs(try TokenFile.read(split: "train", in: tokensDir), count: trainCount, o, eos: eos,
                                   tokenizer: tokenizer, randomCut: true, random: &random)
            // Held-out pairs keep each review's first max_tokens tokens: the standard pair-accuracy set.
            valid = try labelPairs(try TokenFile.read(split: "valid", in: tokensDir), count: validCount, o, eos: eos,
                                   tokenizer: tokenizer, randomCut: false, random: &random)
        case "samples":
            guard let modelDir = try? context.inputPath("model"), let judgeDir = try? context.inputPath("judge") else {
                throw StageError.badInput("model", "strategy 'samples' needs both the `model` (SFT) and `judge` inputs wired")
            }
            let model = ModelReplicas(try ModelArtifacts.load(modelDir, input: "model"), pool: context.workerPool())
            let tokenizer = try ModelArtifacts.tokenizer(in: modelDir, input: "model")
            let judge = try Judge(directory: judgeDir)
            train = try samplePairs(try TokenFile.read(split: "train", in: tokensDir), count: trainCount, o, model: model,
                                    tokenizer: tokenizer, judge: judge, context: context, random: &random)
            valid = try samplePairs(try TokenFile.read(split: "valid", in: tokensDir), count: validCount, o, model: model,
                                    tokenizer: tokenizer, judge: judge, context: context, random: &random)
        default:
            throw StageError.badParam("strategy", "'\(o.strategy)' is not one of labels, samples, dataset, ranked_samples")
        }
        let out = try context.outputPath("pairs")
        try PreferencePairsFile.write(train, to: out + "/" + PreferencePairsFile.trainName)
        try PreferencePairsFile.write(valid, to: out + "/" + PreferencePairsFile.validName)
        context.log("rm-pairs (\(o.strategy)): \(train.count) training pairs, \(valid.count) held-out pairs")
    }

    /// The dataset strategy: every record of the train and valid splits of a preference dataset, the
    /// prompt rendered through the template (the `model` input's stored one unless `template` is set),
    /// kept to max_tokens by dropping the oldest prompt tokens after the BOS, so responses survive.
    static func datasetPairs(_ context: StageContext, _ o: Options) throws {
        guard let dataDir = try? context.inputPath("data") else {
            throw StageError.badInput("data", "strategy 'dataset' needs the `data` input: a preference dataset")
        }
        let modelDir = try? context.inputPath("model")
        let tokenizer = try tokenizerForLabels(context)
        let records = TemplatedRecords(template: try TemplateFile.resolve(context.params, storedWith: modelDir), tokenizer: tokenizer)
        let dataset = try DatasetReader(directory: dataDir)
        try dataset.require([.preference], input: "data")
        let eos = tokenizer.endOfTextId
        func pairs(_ split: String) throws -> [PreferencePair] {
            guard dataset.splits.contains(split) else { return [] }
            var out: [PreferencePair] = [], index = 0
            try dataset.forEachRecord(in: split) { record in
                index += 1
                guard case .preference(let r) = record else { return }
                let prompt = try TemplatedRecords.located("\(split).jsonl record \(index)") { try records.promptTokens(record) }
                func sequence(_ response: String) -> (tokens: [Int32], promptLength: Int) {
                    var tokens = [eos] + prompt + tokenizer.encode(response, allowSpecial: false)
                    var promptLength = 1 + prompt.count
                    if tokens.count > o.maxTokens {
                        let drop = tokens.count - o.maxTokens
                        tokens.removeSubrange(1...drop)
                        promptLength = max(1, promptLength - drop)
                    }
                    return (tokens, promptLength)
                }
                let chosen = sequence(r.chosen), rejected = sequence(r.rejected)
                guard chosen.tokens != rejected.tokens else { return }
                out.append(PreferencePair(chosen: chosen.tokens, rejected: rejected.tokens,
                                          promptLength: min(chosen.promptLength, rejected.promptLength),
                                          chosenText: tokenizer.decode(chosen.tokens, skipSpecial: true),
                                          rejectedText: tokenizer.decode(rejected.tokens, skipSpecial: true), margin: r.margin))
            }
            return out
        }
        let train = try pairs("train"), valid = try pairs("valid")
        guard !train.isEmpty else { throw StageError.badInput("data", "the train split gives no pair (empty, or chosen equals rejected after max_tokens)") }
        let out = try context.outputPath("pairs")
        try PreferencePairsFile.write(train, to: out + "/" + PreferencePairsFile.trainName)
        try PreferencePairsFile.write(valid, to: out + "/" + PreferencePairsFile.validName)
        context.log("rm-pairs (dataset, template \(JSONText.quoted(records.template.text))): \(train.count) training pairs, \(valid.count) held-out pairs")
    }

    /// The labels strategy decodes pair text with a tokenizer: the model input's, else the tokenise output's.
    static func tokenizerForLabels(_ context: StageContext) throws -> PretrainedTokenizer {
        if let dir = try? context.inputPath("model") { return try ModelArtifacts.tokenizer(in: dir, input: "model") }
        if let dir = try? context.inputPath("tokenizer") { return try ModelArtifacts.tokenizer(in: dir, input: "tokenizer") }
        throw StageError.badInput("model", "the labels strategy needs the SFT `model` (or a `tokenizer`) input to decode pair text and find <|endoftext|>")
    }

    static func labelPairs(_ file: TokenFile, count: Int, _ o: Options, eos: Int32, tokenizer: PretrainedTokenizer,
                           randomCut: Bool, random: inout RandomStream) throws -> [PreferencePair]
    {
        // Length buckets of 8 tokens (capped at maxTokens): a pair's two reviews come from the same bucket.
        func bucket(_ n: Int) -> Int { min(n, o.maxTokens) / 8 }
        var positives: [Int: [Int]] = [:], negatives: [Int: [Int]] = [:]
        for i in 0..<file.count where file.record(i).count >= 2 {
            if file.labels[i] == 1 { positives[bucket(file.record(i).count), default: []].append(i) }
            if file.labels[i] == 0 { negatives[bucket(file.record(i).count), default: []].append(i) }
        }
        let buckets = positives.keys.filter { negatives[$0] != nil }.sorted()
        guard !buckets.isEmpty else {
            throw StageError.badInput("tokens", "the split has no positive and negative reviews of comparable length (labels missing?)")
        }
        // Buckets are drawn in proportion to how many pairs they can make.
        let weights = buckets.map { min(positives[$0]!.count, negatives[$0]!.count) }
        let totalWeight = weights.reduce(0, +)
        var pairs: [PreferencePair] = []
        pairs.reserveCapacity(count)
        for _ in 0..<count {
            var pick = random.nextInt(below: totalWeight), b = 0
            while pick >= weights[b] { pick -= weights[b]; b += 1 }
            let ps = positives[buckets[b]]!, ns = negatives[buckets[b]]!
            let c = Array(file.record(ps[random.nextInt(below: ps.count)]))
            let r = Array(file.record(ns[random.nextInt(below: ns.count)]))
            // Same cut length for both: uniform in [min(16, shorter), min(shorter, maxTokens − 1)], about
            // the length PPO's prompt + response reaches, so the RM learns to score fragments.
            let shorter = min(c.count, r.count, o.maxTokens - 1)
            let low = min(16, shorter)
            let cut = low + random.nextInt(below: shorter - low + 1)
            let chosen = ModelArtifacts.withBOS(c.prefix(randomCut ? cut : o.maxTokens - 1), eos: eos)
            let rejected = ModelArtifacts.withBOS(r.prefix(randomCut ? cut : o.maxTokens - 1), eos: eos)
            pairs.append(PreferencePair(chosen: chosen, rejected: rejected, promptLength: 1,
                                        chosenText: tokenizer.decode(chosen, skipSpecial: true),
                                        rejectedText: tokenizer.decode(rejected, skipSpecial: true)))
        }
        return pairs
    }

    static func samplePairs(_ file: TokenFile, count: Int, _ o: Options, model: ModelReplicas, tokenizer: PretrainedTokenizer,
                            judge: Judge, context: StageContext, random: inout RandomStream) throws -> [PreferencePair]
    {
        let eos = tokenizer.endOfTextId, pad = tokenizer.padId
        let candidates = (0..<file.count).filter { file.record($0).count >= o.promptTokens }
        guard !candidates.isEmpty else { throw StageError.badInput("tokens", "no review has \(o.promptTokens) tokens for a prompt") }
        var pairs: [PreferencePair] = []
        let promptsPerBatch = max(1, 64 / o.k)
        let clock = ProgressClock()
        // A prompt whose k samples all get the same judge score gives no pair; bound the attempts so a
        // degenerate model or judge ends in an error instead of a loop that never ends.
        var prompted = 0
        let maxPrompts = 20 * count + 64
        while pairs.count < count {
            guard prompted < maxPrompts else {
                throw StageError.failed("rm-pairs samples: only \(pairs.count) of \(count) prompts gave samples the judge scored differently after \(prompted) prompts; raise k or temperature, or use strategy: labels")
            }
            let n = min(promptsPerBatch, count - pairs.count)
            prompted += n
            let prompts = (0..<n).map { _ in
                ModelArtifacts.withBOS(file.record(candidates[random.nextInt(below: candidates.count)]).prefix(o.promptTokens), eos: eos)
            }
            let queries = prompts.flatMap { Array(repeating: $0, count: o.k) }
            let responses = ResponseSampler.sample(model, queries: queries, length: o.responseTokens, temperature: o.temperature,
                                                   pad: pad, random: &random)
            let sequences = queries.indices.map { queries[$0] + responses[($0 * o.responseTokens)..<(($0 + 1) * o.responseTokens)] }
            let scores = judge.positiveProbabilities(sequences.map { tokenizer.decode($0, skipSpecial: true) })
            for p in 0..<n {
                let group = (p * o.k)..<((p + 1) * o.k)
                // Ties: the first best and the last worst, so identical scores never pair a sample with itself.
                let best = group.max { scores[$0] < scores[$1] }!
                let worst = group.reversed().min { scores[$0] < scores[$1] }!
                guard best != worst, scores[best] > scores[worst] else { continue }
                let c = Array(sequences[best].prefix(o.maxTokens)), r = Array(sequences[worst].prefix(o.maxTokens))
                pairs.append(PreferencePair(chosen: c, rejected: r, promptLength: prompts[p].count,
                                            chosenText: tokenizer.decode(c, skipSpecial: true),
                                            rejectedText: tokenizer.decode(r, skipSpecial: true),
                                            chosenScore: scores[best], rejectedScore: scores[worst]))
            }
            context.progress(phase: "sample", step: pairs.count, total: count, message: clock.eta(step: pairs.count, total: count))
        }
        return pairs
    }
}
