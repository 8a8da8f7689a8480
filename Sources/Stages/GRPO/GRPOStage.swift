import Foundation
import Models
import Tensor
import Tokenizer

/// `grpo`: critic-free RL of the SFT policy against the reward model with group-relative advantages
/// (`advantage: grpo`) or the leave-one-out baseline (`advantage: rloo`). The frozen reference is a copy
/// of the starting policy and exists only when β > 0. Resumable through the training loop.
public enum GRPOStage: BuiltinStage {
    public static let kind = "grpo"

    public static func checkParams(_ params: StageParams) throws {
        _ = try GRPOConfig(params)
        _ = try RewardSettings(params)
        _ = try GoldSettings(params)
    }

    public static func run(_ context: StageContext) throws {
        let (trainer, tokenizer, template) = try makeTrainer(context)
        defer { trainer.reward.close() }
        let config = trainer.config
        let pool = trainer.policyReplicas.pool
        if let gold = try GoldSettings(context.params).evaluator(
            context: context, proxy: trainer.reward, policy: trainer.policy, tokenizer: tokenizer, template: template,
            fixed: config.classicPrompts, promptTokens: config.promptTokens, responseLength: config.responseLength,
            temperature: config.temperature, stopToken: config.truncateEOS ? trainer.eos : nil, pool: pool) {
            trainer.measureGold(gold, pool: pool)
        }
        defer { trainer.gold?.close() }
        let loop = try TrainingLoop(context: context, name: kind, steps: config.steps, evalEvery: trainer.gold?.every,
                                    checkpointEvery: config.checkpointEvery,
                                    progress: [.init("reward", "reward"), .init("zero-std", "frac_reward_zero_std", format: "%.2f")]
                                        + (config.beta > 0 ? [.init("kl", "kl", format: "%.4f")] : []),
                                    hint: "lower lr or raise beta?")
        _ = try loop.run(trainer)
        try ModelArtifacts.save(trainer.policy, tokenizer: tokenizer, template: template, to: try context.outputPath("model"))
    }

    /// Reads the inputs and builds the trainer: the policy, the reference only when β > 0, the reward
    /// sources, and the prompts.
    static func makeTrainer(_ context: StageContext) throws -> (GRPOTrainer, PretrainedTokenizer, PromptTemplate) {
        let config = try GRPOConfig(context.params)
        let rewardSettings = try RewardSettings(context.params)
        let policyDir = try context.inputPath("policy")
        let tokenizer = try ModelArtifacts.tokenizer(in: policyDir, input: "policy")
        let eos = tokenizer.endOfTextId, pad = tokenizer.padId
        let train = try (config.corpusPrompts > 0 ? try? context.inputPath("tokens") : nil).map { try TokenFile.read(split: "train", in: $0) }
        let policy = try ModelArtifacts.load(policyDir, input: "policy", seed: context.seed)
        let (promptSet, template) = try PromptSet.forStage(
            context, fixed: config.classicPrompts, corpusPrompts: config.corpusPrompts, promptTokens: config.promptTokens,
            tokenizer: tokenizer, policyDir: policyDir, train: train, maxTokens: policy.config.maxPositions - config.responseLength)
        let prompts = promptSet.tokens
        // Beyond n_positions the trainer refuses the length itself, with that message.
        let passLength = min((prompts.map(\.count).max() ?? 0) + config.responseLength, policy.config.maxPositions)
        try PassMemory.require(policy, rows: config.rows / config.numMiniBatches, time: passLength, param: "prompts_per_step",
                               shape: "prompts_per_step × num_generations / num_mini_batches = \(config.rows / config.numMiniBatches) × prompt + response_length \(passLength)")
        context.log("grpo: \(prompts.count) prompts (\(config.classicPrompts.count) fixed), \(config.promptsPerStep) × \(config.numGenerations) completions per step, advantage \(config.advantage.rawValue), loss \(config.lossType.rawValue)")

        let reference: GPTModel? = config.beta > 0 ? GPTModel(copying: policy) : nil
        if reference == nil { context.log("grpo: beta 0 — no reference model") }
        let pool = context.workerPool()
        let reward = try RewardScorer.forStage(rewardSettings, context: context, policy: policy, tokenizer: tokenizer,
                                               columns: promptSet.columnNames, pool: pool)
        let longest = (prompts.map(\.count).max() ?? 0) + config.responseLength
        for component in reward.sources.components {
            guard let model = (component.source as? RewardModelSource)?.model, longest > model.config.maxPositions else { continue }
            reward.close()
            throw StageError.badParam("response_length", "prompt + response (\(longest) tokens) exceeds the reward model's n_positions (\(model.config.maxPositions))")
        }
        do {
            let trainer = try GRPOTrainer(config: config, policy: policy, reference: reference, reward: reward,
                                          prompts: prompts, promptColumns: promptSet.rewardColumns, eos: eos, pad: pad,
                                          seed: context.seed, pool: pool)
            return (trainer, tokenizer, template)
        } catch {
            reward.close()
            throw error
        }
    }
}
