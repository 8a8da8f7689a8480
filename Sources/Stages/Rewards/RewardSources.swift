import Models
import Tokenizer

/// Builds a stage's reward sources from its params and inputs: the one place where `reward_sources`
/// names turn into `RewardSource`s, for ppo, grpo and evaluate alike.
public enum RewardSources {
    /// - Parameters:
    ///   - settings: the stage's reward params.
    ///   - model: the `model` source, when `settings.usesModel` (the caller loads and checks the
    ///     reward model against its policy).
    ///   - columns: the extra columns the stage's prompts carry (rules reading another fail here).
    ///   - context: inputs (`scorer`), scratch directory and log.
    public static func build(_ settings: RewardSettings, model: RewardModelSource?, columns: [String],
                             context: StageContext) throws -> WeightedRewardSource {
        let scorer = try? context.inputPath(settings.role.scorerInput)
        return try build(settings, model: model, columns: columns, scorer: scorer, directory: context.scratchPath, log: context.log)
    }

    public static func build(_ settings: RewardSettings, model: RewardModelSource?, columns: [String], scorer: String?,
                             directory: String, log: @escaping (String) -> Void) throws -> WeightedRewardSource {
        let prefix = settings.role.prefix, scorerInput = settings.role.scorerInput
        var components: [WeightedRewardSource.Component] = []
        // Started children are stopped if a later source fails to build.
        var built: [RewardSource] = []
        do {
            for (name, weight) in zip(settings.sources, settings.weights) {
                let source: RewardSource
                switch name {
                case "model":
                    guard let model else {
                        throw StageError.badParam(prefix + "sources", "lists 'model' but the `\(settings.role.modelInput)` input (a reward model) is not wired: wire one (inputs: { \(settings.role.modelInput): rm.model }) or choose other sources")
                    }
                    source = model
                case "command":
                    source = try CommandRewardSource(command: settings.command, scorer: scorer, directory: directory,
                                                     timeout: settings.timeout, param: prefix + "command", scorerInput: scorerInput,
                                                     log: log)
                case "http":
                    source = try HTTPRewardSource(url: settings.url, format: settings.httpFormat, labelColumn: settings.column,
                                                  timeout: settings.timeout, retries: settings.retries, log: log)
                default:
                    guard let rule = RuleRewardSource.Rule(rawValue: name) else {
                        throw StageError.badParam(prefix + "sources", "unknown source '\(name)'")
                    }
                    let r = try RuleRewardSource(rule: rule, column: settings.column, pattern: settings.pattern,
                                                 normalize: settings.normalize, targetLength: settings.targetLength,
                                                 ngram: settings.repetitionNgram)
                    if r.needsColumn && !columns.contains(settings.column) {
                        throw StageError.badParam(prefix + "column", "rule '\(name)' reads the column '\(settings.column)', which this stage's prompts do not carry (\(columns.isEmpty ? "they carry no columns" : "columns: " + columns.joined(separator: ", ")))")
                    }
                    source = r
                }
                built.append(source)
                components.append(.init(weight: weight, source: source))
            }
            if scorer != nil && !settings.sources.contains("command") {
                log("note: the `\(scorerInput)` input is wired but no `command` source uses it")
            }
            log("\(settings.role.rawValue): \(settings.summary)")
            return try WeightedRewardSource(components)
        } catch {
            for s in built { s.close() }
            throw error
        }
    }
}

extension RewardScorer {
    /// The scorer of an RL stage (ppo, grpo, evaluate): loads the `reward` input when the `model`
    /// source is listed (checking its vocabulary against the policy's), builds the sources, and
    /// decodes with the policy's tokenizer.
    public static func forStage(_ settings: RewardSettings, context: StageContext, policy: GPTModel,
                                tokenizer: PretrainedTokenizer, columns: [String], pool: WorkerPool) throws -> RewardScorer {
        var model: RewardModelSource?
        let input = settings.role.modelInput
        if settings.usesModel {
            guard let directory = try? context.inputPath(input) else {
                throw StageError.badParam(settings.role.prefix + "sources", "lists 'model' but the `\(input)` input (a reward model) is not wired: wire one (inputs: { \(input): rm.model }) or choose other sources")
            }
            let rewardModel = try ModelArtifacts.load(directory, input: input, rewardHead: true)
            guard rewardModel.config.vocabSize == policy.config.vocabSize else {
                throw StageError.badInput(input, "vocabulary \(rewardModel.config.vocabSize) differs from the policy's \(policy.config.vocabSize)")
            }
            model = try RewardModelSource(model: rewardModel, pad: tokenizer.padId, tokenizer: tokenizer, pool: pool)
        } else if (try? context.inputPath(input)) != nil {
            context.log("note: the `\(input)` input is wired but \(settings.role.prefix)sources (\(settings.summary)) does not list 'model'")
        }
        let sources = try RewardSources.build(settings, model: model, columns: columns, context: context)
        return RewardScorer(sources: sources, decode: { tokenizer.decode($0, skipSpecial: true) }, log: context.log)
    }
}
