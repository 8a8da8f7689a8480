import Foundation
import Models
import Tokenizer

/// The gold scorer params of ppo and grpo (stages/shared/gold.yaml): the sources (the reward group
/// under the prefix `gold_`), how often to measure, and the held-out prompt set.
public struct GoldSettings: Sendable, Equatable {
    public var sources: RewardSettings
    public var every: Int
    public var prompts: Int
    public var split: String

    public init(_ p: StageParams) throws {
        sources = try RewardSettings(p, role: .gold)
        every = try p.int("gold_every")
        prompts = try p.int("gold_prompts")
        split = try p.string("gold_split")
        guard every >= 1 else { throw StageError.badParam("gold_every", "must be ≥ 1 step") }
        guard prompts >= 1 else { throw StageError.badParam("gold_prompts", "must be ≥ 1 prompt") }
        guard !split.isEmpty, split.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw StageError.badParam("gold_split", "'\(split)' is not a split name (letters, digits, _ and -; e.g. valid or test)")
        }
    }

    public var isEnabled: Bool { sources.isEnabled }

    /// The stage's gold evaluator, or nil without gold sources (a wired `gold_reward` or `gold_scorer`
    /// input is then only noted in the log). The caller closes it.
    /// - Parameters:
    ///   - proxy: the stage's training reward, measured on the same completions.
    ///   - fixed: the stage's fixed prompts, the gold set when no held-out split is wired.
    ///   - stopToken: the EOS at which completions end, when the trainer truncates there.
    public func evaluator(context: StageContext, proxy: RewardScorer, policy: GPTModel, tokenizer: PretrainedTokenizer,
                          template: PromptTemplate, fixed: [String], promptTokens: Int, responseLength: Int,
                          temperature: Float, stopToken: Int32?, pool: WorkerPool) throws -> GoldEvaluator? {
        guard isEnabled else {
            for input in ["gold_reward", "gold_scorer"] where (try? context.inputPath(input)) != nil {
                context.log("note: the `\(input)` input is wired but gold_sources is empty (no gold scorer)")
            }
            return nil
        }
        let maxTokens = policy.config.maxPositions - responseLength
        let (set, origin) = try heldOutPrompts(context, tokenizer: tokenizer, template: template, fixed: fixed,
                                               promptTokens: promptTokens, maxTokens: maxTokens)
        // Exactly `prompts` rows: the split's prompts evenly spaced, or cycled when it has fewer.
        let picked = (0..<prompts).map { $0 % set.prompts.count }
        let longest = picked.map { set.tokens[$0].count }.max()! + responseLength
        guard longest <= policy.config.maxPositions else {
            throw StageError.badParam("response_length", "gold prompt (\(longest - responseLength) tokens) + response (\(responseLength)) exceeds the model's n_positions (\(policy.config.maxPositions))")
        }
        let columns = set.rewardColumns.mapValues { values in picked.map { values[$0] } }
        let gold = try RewardScorer.forStage(sources, context: context, policy: policy, tokenizer: tokenizer,
                                             columns: set.columnNames, pool: pool)
        for component in gold.sources.components {
            guard let model = (component.source as? RewardModelSource)?.model, longest > model.config.maxPositions else { continue }
            gold.close()
            throw StageError.badParam("response_length", "gold prompt + response (\(longest) tokens) exceeds the gold reward model's n_positions (\(model.config.maxPositions))")
        }
        context.log("gold: \(sources.summary) on \(prompts) held-out prompts (\(set.prompts.count) distinct, \(origin)) every \(every) steps")
        do {
            return try GoldEvaluator(gold: gold, proxy: proxy, queries: picked.map { set.tokens[$0] }, columns: columns,
                                     responseLength: responseLength, temperature: temperature, stopToken: stopToken,
                                     pad: tokenizer.padId, seed: context.seed, every: every)
        } catch {
            gold.close()
            throw error
        }
    }

    /// The held-out prompts: the `prompts` dataset's `split` records through the template, else
    /// `promptTokens`-token openings of the `tokens` input's `split` file, else the fixed prompts.
    func heldOutPrompts(_ context: StageContext, tokenizer: PretrainedTokenizer, template: PromptTemplate, fixed: [String],
                        promptTokens: Int, maxTokens: Int) throws -> (PromptSet, String) {
        let records = TemplatedRecords(template: template, tokenizer: tokenizer)
        if let directory = try? context.inputPath("prompts") {
            let dataset = try DatasetReader(directory: directory)
            guard let count = dataset.manifest.count(of: split), count > 0 else {
                let have = dataset.manifest.splits.filter { $0.count > 0 }.map { "\($0.name) \($0.count)" }.joined(separator: ", ")
                throw StageError.badParam("gold_split", "the `prompts` dataset has no '\(split)' records (it has: \(have)); choose one of its held-out splits")
            }
            let set = try PromptSet.build(fixed: [], corpusPrompts: 0, promptTokens: promptTokens, records: records, train: nil,
                                          dataset: dataset, split: split, datasetLimit: prompts, maxTokens: maxTokens)
            return (set, "the `prompts` dataset's \(split) split")
        }
        if let directory = try? context.inputPath("tokens") {
            guard FileManager.default.fileExists(atPath: directory + "/" + split + ".tok") else {
                let have = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                    .filter { $0.hasSuffix(".tok") }.map { String($0.dropLast(4)) }.sorted()
                throw StageError.badParam("gold_split", "the `tokens` input has no '\(split)' split (it has: \(have.joined(separator: ", "))); choose one of its held-out splits")
            }
            let file = try TokenFile.read(split: split, in: directory)
            guard (0..<file.count).contains(where: { file.record($0).count > promptTokens }) else {
                throw StageError.badParam("gold_split", "no document of the `tokens` input's '\(split)' split is longer than prompt_tokens (\(promptTokens)): lower prompt_tokens or choose another split")
            }
            let set = try PromptSet.build(fixed: [], corpusPrompts: prompts, promptTokens: promptTokens, records: records,
                                          train: file, maxTokens: maxTokens)
            return (set, "\(promptTokens)-token openings of the \(split) split")
        }
        guard !fixed.isEmpty else {
            throw StageError.badParam("gold_sources", "no gold prompts: wire a `prompts` dataset or `tokens` (their \(split) split is the gold set), or give classic_prompts")
        }
        context.log("note: gold: neither `prompts` nor `tokens` is wired, so the gold set is the fixed classic prompts (not held out)")
        let set = try PromptSet.build(fixed: fixed, corpusPrompts: 0, promptTokens: promptTokens, records: records, train: nil,
                                      maxTokens: maxTokens)
        return (set, "the fixed prompts")
    }
}
