import Foundation
import JSONQuoting
import Models
import Tensor
import Tokenizer

/// `evaluate`: SFT baseline vs the policy on held-out prompts (the classic ones, the test split of a
/// prompt dataset through the policy's template, test-split openings of the token files). Both models
/// answer the same prompts with the same sampling seeds; each answer is scored by the reward sources
/// (proxy; the reward model by default, reported as `rm_reward_mean`, with the policy's win rate over
/// the baseline's paired answer) and the judge (gold, when wired); KL(π‖ref) is Σ_t log π − log π_ref
/// over the policy's own samples (k1, the quantity PPO penalised); perplexity is on held-out test
/// reviews (token files) or on the held-out completions of a prompt-completion dataset. `decodings`
/// repeats the answers and their figures per decoding (sampling, greedy, beam search), side by side.
public enum EvaluateStage: BuiltinStage {
    public static let kind = "evaluate"

    /// The stage's params (docs and defaults in stages/evaluate.yaml).
    struct Settings {
        var classicPrompts: [String]
        var heldOutPrompts: Int, promptTokens: Int, samplesPerPrompt: Int
        var responseLength: Int, temperature: Float
        var perplexityReviews: Int
        var promptsSplit: String
        /// The `decodings` param as listed (the first is the headline) and parsed.
        var decodingNames: [String]
        var decodings: [EvaluationDecoding]
        var truncateEOS: Bool

        init(_ p: StageParams) throws {
            promptsSplit = try p.string("prompts_split")
            _ = try TemplateFile.resolve(p, storedWith: nil)
            classicPrompts = try p.strings("classic_prompts")
            heldOutPrompts = try p.int("prompts"); promptTokens = try p.int("prompt_tokens")
            samplesPerPrompt = try p.int("samples_per_prompt")
            responseLength = try p.int("response_length"); temperature = try p.float("temperature")
            perplexityReviews = try p.int("perplexity_reviews")
            decodingNames = try p.strings("decodings")
            decodings = try EvaluationDecoding.parse(decodingNames, perPrompt: samplesPerPrompt, temperature: temperature,
                                                     numBeams: try p.int("num_beams"), lengthPenalty: try p.float("length_penalty"))
            truncateEOS = try p.bool("truncate_eos")
        }

        /// Only `sample`, as before decodings could be chosen: metrics.json and samples.jsonl carry no
        /// per-decoding sections.
        var onlyDefaultDecoding: Bool { decodingNames == ["sample"] }
    }

    public static func checkParams(_ params: StageParams) throws {
        _ = try Settings(params)
        _ = try RewardSettings(params)
    }

    struct Sample {
        var promptTokens: [Int32]
        var responseTokens: [Int32]
        var promptText: String
        var responseText: String
        var rmReward: Double = 0
        /// Each reward source's own reward, in source order (kept when there are several).
        var sourceRewards: [Double] = []
        var judgePositive: Double = 0
        var klToReference: Double = 0
        /// The prompt's class (0 or 1) where known: a test review's label, a dataset's `label` column.
        var promptLabel: Int? = nil
    }

    struct ModelReport {
        var name: String
        var samples: [Sample]
        /// Held-out perplexity; nil when neither token files nor completions were given.
        var perplexity: Double?
        var judged: Bool
        /// The reward sources' names when there are several (their means are reported), else empty.
        var sourceNames: [String] = []
        func sourceMean(_ k: Int) -> Double { samples.reduce(0.0) { $0 + $1.sourceRewards[k] } / Double(samples.count) }
        var members: [(String, String)] {
            let n = Double(samples.count)
            func mean(_ f: (Sample) -> Double) -> Double { samples.reduce(0.0) { $0 + f($1) } / n }
            let chars = samples.map { Array($0.responseText) }
            let sources: [(String, String)] = sourceNames.isEmpty ? [] : [
                ("reward_sources", JSONText.object(sourceNames.indices.map { (sourceNames[$0], JSONText.number(sourceMean($0))) })),
            ]
            var judge: [(String, String)] = judged ? [
                ("judge_positive_rate", JSONText.number(EvaluateStage.judgeRate(samples))),
                ("judge_score_mean", JSONText.number(mean(\.judgePositive))),
            ] : []
            // Per prompt class, where prompts have one: whether the answers turn the other class's openings.
            for label in [1, 0] where judged {
                let mine = samples.filter { $0.promptLabel == label }
                guard !mine.isEmpty else { continue }
                judge.append(("judge_positive_rate_label_\(label)", JSONText.number(EvaluateStage.judgeRate(mine))))
            }
            return sources + [("rm_reward_mean", JSONText.number(mean(\.rmReward)))] + judge + [
                ("kl_to_reference_nats", JSONText.number(mean(\.klToReference))),
            ] + (perplexity.map { [("heldout_perplexity", JSONText.number($0))] } ?? []) + [
                ("distinct_1", JSONText.number(TextStatistics.distinct(chars, n: 1))),
                ("distinct_2", JSONText.number(TextStatistics.distinct(chars, n: 2))),
                ("response_chars_mean", JSONText.number(mean { Double($0.responseText.count) })),
                ("samples", String(samples.count)),
            ]
        }
    }

    public static func run(_ context: StageContext) throws {
        let pool = context.workerPool()
        let settings = try Settings(context.params)
        let policyDir = try context.inputPath("policy"), baselineDir = try context.inputPath("baseline")
        let tokenizer = try ModelArtifacts.tokenizer(in: policyDir, input: "policy")
        let eos = tokenizer.endOfTextId, pad = tokenizer.padId
        let policy = try ModelArtifacts.load(policyDir, input: "policy")
        let baseline = try ModelArtifacts.load(baselineDir, input: "baseline")
        let test = try (try? context.inputPath("tokens")).map { try TokenFile.read(split: "test", in: $0) }
        let dataset = try (try? context.inputPath("prompts")).map { try DatasetReader(directory: $0) }
        let responseLength = settings.responseLength
        let decodings = settings.decodings, perPrompt = decodings[0].perPrompt
        for case .beam(let beams, _) in decodings where beams > policy.config.vocabSize {
            throw StageError.badParam("num_beams", "\(beams) beams exceed the policy's vocabulary (\(policy.config.vocabSize) tokens)")
        }
        // Prompts: the classic ones first, then the dataset's held-out prompts, then test-split openings.
        let template = try TemplateFile.resolve(context.params, storedWith: policyDir)
        let promptSet = try PromptSet.build(
            fixed: settings.classicPrompts, corpusPrompts: settings.heldOutPrompts, promptTokens: settings.promptTokens,
            records: TemplatedRecords(template: template, tokenizer: tokenizer), train: test, dataset: dataset,
            split: settings.promptsSplit, datasetLimit: settings.heldOutPrompts, maxTokens: policy.config.maxPositions - responseLength)
        let prompts = promptSet.tokens
        let classicCount = settings.classicPrompts.count
        if prompts.contains(where: \.isEmpty) { throw StageError.badInput("prompts", "a held-out prompt encodes to no tokens") }

        let scorer = try RewardScorer.forStage(try RewardSettings(context.params), context: context, policy: policy,
                                               tokenizer: tokenizer, columns: promptSet.columnNames, pool: pool)
        defer { scorer.close() }
        let rewardModel = scorer.sources.components.lazy.compactMap { ($0.source as? RewardModelSource)?.model }.first
        // As ppo checks it: a response that cannot fit after its prompt is a param error, not a trap in generation.
        let longest = (prompts.map(\.count).max() ?? 0) + responseLength
        for (what, model) in [("the policy", Optional(policy)), ("the baseline", baseline), ("the reward model", rewardModel)] {
            guard let model, longest > model.config.maxPositions else { continue }
            throw StageError.badParam("response_length", "prompt (\(longest - responseLength) tokens) + response (\(responseLength)) "
                + "exceeds \(what)'s n_positions (\(model.config.maxPositions))")
        }
        let severalSources = scorer.sources.components.count > 1
        var rewardFlags: [(String, Double)] = []
        let baselineReplicas = ModelReplicas(baseline, pool: pool)
        let judgeDir = try? context.inputPath("judge")
        let judge = try judgeDir.map { try Judge(directory: $0) }
        // Token files are the perplexity set when wired; only without them are completions read.
        let completions = test != nil ? nil : try dataset.flatMap {
            try heldOutCompletions($0, split: settings.promptsSplit, template: template, tokenizer: tokenizer,
                                   limit: settings.perplexityReviews)
        }

        // reports[d] = [sft, ppo] answering with decodings[d]; decodings[0] is the headline.
        var reports: [[ModelReport]] = decodings.map { _ in [] }
        let models = [("sft", baselineReplicas), ("ppo", ModelReplicas(policy, pool: pool))]
        for (m, (name, model)) in models.enumerated() {
            for (d, decoding) in decodings.enumerated() {
                context.progress(phase: "\(decoding.name) \(name)", step: m * decodings.count + d, total: 2 * decodings.count, message: "")
                var flags: [(String, Double)] = []
                var samples = try answers(model, decoding, prompts: prompts, columns: promptSet.rewardColumns,
                                          baseline: baselineReplicas, scorer: scorer, tokenizer: tokenizer,
                                          length: responseLength, pad: pad, eos: settings.truncateEOS ? eos : nil,
                                          seed: context.seed, rewardFlags: &flags)
                if d == 0 { rewardFlags += flags }
                for i in samples.indices { samples[i].promptLabel = promptSet.prompts[i / decoding.perPrompt].label }
                if let judge {
                    let judged = judge.positiveProbabilities(samples.map { $0.promptText + $0.responseText })
                    for i in samples.indices { samples[i].judgePositive = judged[i] }
                }
                reports[d].append(ModelReport(name: name, samples: samples, perplexity: nil, judged: judge != nil,
                                              sourceNames: severalSources ? scorer.sources.components.map(\.name) : []))
            }
            // Perplexity does not depend on the decoding: the headline carries it.
            if let test {
                reports[0][m].perplexity = try heldOutPerplexity(model.model, test, reviews: settings.perplexityReviews, eos: eos, pad: pad)
            } else if let completions, !completions.isEmpty {
                reports[0][m].perplexity = try completionPerplexity(model.model, completions, eos: eos, pad: pad)
            }
        }

        var top: [(String, String)] = reports[0].map { ($0.name, JSONText.object($0.members)) }
        if (try? context.inputPath("pairs")) != nil && rewardModel == nil {
            context.log("note: the `pairs` input is wired but reward_sources does not list 'model': no RM pair accuracy")
        }
        if let pairsDir = try? context.inputPath("pairs"), let rewardModel {
            let rewardReplicas = ModelReplicas(rewardModel, pool: pool)
            let pairs = try PreferencePairsFile.read(pairsDir + "/" + PreferencePairsFile.validName)
            if !pairs.isEmpty {
                // In the shards the rm stage scores its held-out pairs in.
                let e = PairScoring.evaluate(rewardReplicas, pairs, pad: pad)
                top.append(("rm", JSONText.object([("pair_accuracy", JSONText.number(e.accuracy)), ("margin", JSONText.number(e.margin)),
                                                    ("pairs", String(e.pairs))])))
            }
        }
        if let judgeDir, let data = FileManager.default.contents(atPath: judgeDir + "/metrics.json") {
            let object: JSONValue
            do { object = try JSONParser.parseFile([UInt8](data)) } catch {
                throw StageError.failed("\(judgeDir)/metrics.json: not valid JSON: \(error) (is the input a judge stage's `model` output?)")
            }
            // A judge with no held-out accuracy (written as null) leaves the line out, as before.
            if let accuracy = object["heldout_accuracy"]?.number {
                top.append(("judge", JSONText.object([("heldout_accuracy", JSONText.number(accuracy))])))
            }
        }
        let (sft, ppo) = (reports[0][0], reports[0][1])
        func mean(_ r: ModelReport, _ f: (Sample) -> Double) -> Double { r.samples.reduce(0.0) { $0 + f($1) } / Double(r.samples.count) }
        let rateGain = judgeRate(ppo) - judgeRate(sft)
        // The policy's answer against the baseline's paired answer (same prompt, same random numbers).
        let wins = zip(ppo.samples, sft.samples).reduce(0.0) { $0 + ($1.0.rmReward > $1.1.rmReward ? 1 : $1.0.rmReward == $1.1.rmReward ? 0.5 : 0) }
        var comparison: [(String, String)] = judge == nil ? [] : [("judge_positive_rate_gain", JSONText.number(rateGain))]
        comparison += [("rm_reward_gain", JSONText.number(mean(ppo, \.rmReward) - mean(sft, \.rmReward))),
                       ("rm_win_rate", JSONText.number(wins / Double(max(ppo.samples.count, 1))))]
        if let a = ppo.perplexity, let b = sft.perplexity { comparison.append(("perplexity_ratio", JSONText.number(a / b))) }
        comparison += [("classic_prompts", String(classicCount)), ("heldout_prompts", String(prompts.count - classicCount)),
                       ("samples_per_prompt", String(perPrompt))]
        top.append(("comparison", JSONText.object(comparison)))
        if !settings.onlyDefaultDecoding { top.append(("decodings", decodingsJSON(decodings, reports))) }
        let out = try context.outputPath("report")
        try Data((JSONText.object(top) + "\n").utf8).write(to: URL(fileURLWithPath: out + "/metrics.json"))

        var lines = ""
        for i in sft.samples.indices {
            let a = sft.samples[i], b = ppo.samples[i]
            lines += JSONText.object([
                ("prompt", JSONText.quoted(a.promptText)), ("classic", i < classicCount * perPrompt ? "true" : "false"),
                ("sft", JSONText.quoted(a.responseText)), ("sft_rm", JSONText.number(a.rmReward)), ("sft_judge", JSONText.number(a.judgePositive)),
                ("ppo", JSONText.quoted(b.responseText)), ("ppo_rm", JSONText.number(b.rmReward)), ("ppo_judge", JSONText.number(b.judgePositive)),
                ("ppo_kl", JSONText.number(b.klToReference)),
            ] + (settings.onlyDefaultDecoding ? [] : otherDecodingFields(row: i, decodings, reports))) + "\n"
        }
        try Data(lines.utf8).write(to: URL(fileURLWithPath: out + "/samples.jsonl"))

        var summary: [(String, Double)] = []
        for r in reports[0] {
            summary += [("\(r.name)/rm_reward_mean", mean(r, \.rmReward))]
            if r.judged { summary.append(("\(r.name)/judge_positive_rate", judgeRate(r))) }
            summary.append(("\(r.name)/kl_to_reference_nats", mean(r, \.klToReference)))
            if let p = r.perplexity { summary.append(("\(r.name)/heldout_perplexity", p)) }
        }
        summary.append(("comparison/rm_win_rate", wins / Double(max(ppo.samples.count, 1))))
        for r in reports[0] where !r.sourceNames.isEmpty {
            summary += r.sourceNames.indices.map { ("\(r.name)/rewards/\(r.sourceNames[$0])/mean", r.sourceMean($0)) }
        }
        if !settings.onlyDefaultDecoding { summary += decodingMetrics(decodings, reports) }
        context.metrics(step: 0, summary + rewardFlags)
        context.log(table(sft, ppo, classic: classicCount * perPrompt))
        if !settings.onlyDefaultDecoding { context.log(decodingsTable(decodings, reports)) }
    }

    static func table(_ sft: ModelReport, _ ppo: ModelReport, classic: Int) -> String {
        func f(_ x: Double) -> String { String(format: "%8.3f", x) }
        func mean(_ r: ModelReport, _ g: (Sample) -> Double) -> Double { r.samples.reduce(0.0) { $0 + g($1) } / Double(r.samples.count) }
        var s = "evaluate: metric                      sft        ppo\n"
        s += "  rm reward (proxy)              \(f(mean(sft, \.rmReward)))   \(f(mean(ppo, \.rmReward)))\n"
        if sft.judged {
            s += "  judge positive rate (gold)     \(f(judgeRate(sft)))   \(f(judgeRate(ppo)))\n"
        }
        s += "  KL to reference (nats/resp.)   \(f(mean(sft, \.klToReference)))   \(f(mean(ppo, \.klToReference)))\n"
        if let a = sft.perplexity, let b = ppo.perplexity { s += "  held-out perplexity            \(f(a))   \(f(b))\n" }
        s += "samples (classic prompts):\n"
        for i in 0..<min(classic, sft.samples.count) {
            s += "  [\(sft.samples[i].promptText)] sft: \(sft.samples[i].responseText) | ppo: \(ppo.samples[i].responseText)\n"
        }
        return s
    }
}
