import Foundation
import Models
import Tensor
import Tokenizer

/// `grpo`: critic-free RL of the SFT policy against the reward model with group-relative advantages
/// (`advantage: grpo`) or the leave-one-out baseline (`advantage: rloo`). The frozen reference is a copy
/// of the starting policy and exists only when β > 0. Resumable through the training loop.
public enum GRPOStage: BuiltinStage {
    public static let kind = "grpo"

    public static func checkParams(_ params: StageParams) throws { _ = try GRPOConfig(params) }

    public static func run(_ context: StageContext) throws {
        BLAS.setThreads(context.threads)
        let (trainer, tokenizer) = try makeTrainer(context)
        let config = trainer.config
        let loop = try TrainingLoop(context: context, name: kind, steps: config.steps, evalEvery: nil,
                                    checkpointEvery: config.checkpointEvery,
                                    progress: [.init("reward", "reward"), .init("zero-std", "frac_reward_zero_std", format: "%.2f")]
                                        + (config.beta > 0 ? [.init("kl", "kl", format: "%.4f")] : []),
                                    hint: "lower lr or raise beta?")
        _ = try loop.run(trainer)
        try ModelArtifacts.save(trainer.policy, tokenizer: tokenizer, to: try context.outputPath("model"))
    }

    /// Reads the inputs and builds the trainer: the policy, the reference only when β > 0, the reward
    /// model behind a `RewardSource`, and the prompts.
    static func makeTrainer(_ context: StageContext) throws -> (GRPOTrainer, BPETokenizer) {
        let config = try GRPOConfig(context.params)
        let policyDir = try context.inputPath("policy")
        let rewardDir = try context.inputPath("reward")
        let tokenizer = try ModelArtifacts.tokenizer(in: policyDir, input: "policy")
        let eos = tokenizer.endOfTextId, pad = tokenizer.padId
        let train = try (config.corpusPrompts > 0 ? try? context.inputPath("tokens") : nil).map { try TokenFile.read(split: "train", in: $0) }
        let prompts = try buildPrompts(config, tokenizer: tokenizer, train: train)
        context.log("grpo: \(prompts.count) prompts (\(config.classicPrompts.count) fixed), \(config.promptsPerStep) × \(config.numGenerations) completions per step, advantage \(config.advantage.rawValue), loss \(config.lossType.rawValue)")

        let policy = try ModelArtifacts.load(policyDir, input: "policy", seed: context.seed)
        let reference: GPTModel? = config.beta > 0 ? GPTModel(copying: policy) : nil
        if reference == nil { context.log("grpo: beta 0 — no reference model") }
        let rewardModel = try ModelArtifacts.load(rewardDir, input: "reward", rewardHead: true)
        guard rewardModel.config.vocabSize == policy.config.vocabSize else {
            throw StageError.badInput("reward", "vocabulary \(rewardModel.config.vocabSize) differs from the policy's \(policy.config.vocabSize)")
        }
        let longest = (prompts.map(\.count).max() ?? 0) + config.responseLength
        guard longest <= rewardModel.config.maxPositions else {
            throw StageError.badParam("response_length", "prompt + response (\(longest) tokens) exceeds the reward model's n_positions (\(rewardModel.config.maxPositions))")
        }
        let trainer = try GRPOTrainer(config: config, policy: policy, reference: reference,
                                      reward: try RewardModelSource(model: rewardModel, pad: pad),
                                      prompts: prompts, eos: eos, pad: pad, seed: context.seed)
        return (trainer, tokenizer)
    }

    /// The fixed prompts plus `corpus_prompts` train-split review openings of `prompt_tokens` tokens, each
    /// as `[EOS] + tokens` (the same set the `ppo` stage builds from the same params).
    static func buildPrompts(_ config: GRPOConfig, tokenizer: BPETokenizer, train: TokenFile?) throws -> [[Int32]] {
        let eos = tokenizer.endOfTextId
        var prompts = config.classicPrompts.map { ModelArtifacts.withBOS(tokenizer.encode($0, allowSpecial: false), eos: eos) }
        let wanted = config.corpusPrompts, length = config.promptTokens
        if wanted > 0, let train {
            let eligible = (0..<train.count).filter { train.record($0).count > length }
            // Evenly spaced over the file (ordered by content hash, so effectively a random sample).
            let stride = max(1, eligible.count / max(wanted, 1))
            for k in 0..<min(wanted, eligible.count) {
                prompts.append(ModelArtifacts.withBOS(train.record(eligible[k * stride]).prefix(length), eos: eos))
            }
        }
        guard !prompts.isEmpty else { throw StageError.badParam("classic_prompts", "no prompts: give `classic_prompts` or wire `tokens` with corpus_prompts > 0") }
        return prompts
    }
}
