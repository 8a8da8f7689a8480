import Foundation
import Models
import Tensor
import Tokenizer

/// `ppo`: the classic RLHF sentiment recipe. Policy and frozen reference start from the SFT model; the
/// reward comes from the stage's reward sources (by default the reward model, scoring
/// `[EOS] + prompt + response` at its last token). Resumable through the training loop: a rerun of the
/// same key after a kill continues from the last checkpoint.
public enum PPOStage: BuiltinStage {
    public static let kind = "ppo"

    public static func checkParams(_ params: StageParams) throws {
        _ = try PPOConfig(params)
        _ = try RewardSettings(params)
        _ = try GoldSettings(params)
    }

    public static func run(_ context: StageContext) throws {
        let pool = context.workerPool()
        let config = try PPOConfig(context.params)
        let rewardSettings = try RewardSettings(context.params)
        let goldSettings = try GoldSettings(context.params)
        let policyDir = try context.inputPath("policy")
        let tokenizer = try ModelArtifacts.tokenizer(in: policyDir, input: "policy")
        let eos = tokenizer.endOfTextId, pad = tokenizer.padId
        // The train split feeds both the corpus prompts and the pretraining mix: read it once.
        let needsTrain = config.corpusPrompts > 0 || config.ptxCoef > 0
        let train = try (needsTrain ? try? context.inputPath("tokens") : nil).map { try TokenFile.read(split: "train", in: $0) }
        let policy = try ModelArtifacts.load(policyDir, input: "policy", valueHead: true, seed: context.seed)
        let (promptSet, template) = try PromptSet.forStage(
            context, fixed: config.classicPrompts, corpusPrompts: config.corpusPrompts, promptTokens: config.promptTokens,
            tokenizer: tokenizer, policyDir: policyDir, train: train, maxTokens: policy.config.maxPositions - config.responseLength)
        let prompts = promptSet.tokens
        // Beyond n_positions the trainer refuses the length itself, with that message.
        let longest = min((prompts.map(\.count).max() ?? 0) + config.responseLength, policy.config.maxPositions)
        try PassMemory.require(policy, rows: config.miniBatchSize, time: longest, param: "mini_batch_size",
                               shape: "mini_batch_size \(config.miniBatchSize) × prompt + response_length \(longest)")
        context.log("ppo: \(prompts.count) prompts (\(config.classicPrompts.count) fixed)")

        ModelTransfer.zero(policy, tensorsWithPrefix: "v_head.")
        let reference = try ModelArtifacts.load(policyDir, input: "policy")
        let reward = try RewardScorer.forStage(rewardSettings, context: context, policy: policy, tokenizer: tokenizer,
                                               columns: promptSet.columnNames, pool: pool)
        defer { reward.close() }
        let trainer = try PPOTrainer(config: config, policy: policy, reference: reference, reward: reward,
                                     prompts: prompts, promptColumns: promptSet.rewardColumns, eos: eos, pad: pad,
                                     seed: context.seed, pool: pool)
        trainer.gold = try goldSettings.evaluator(
            context: context, proxy: reward, policy: policy, tokenizer: tokenizer, template: template, fixed: config.classicPrompts,
            promptTokens: config.promptTokens, responseLength: config.responseLength, temperature: config.temperature,
            stopToken: config.truncateEOS ? eos : nil, pool: pool)
        defer { trainer.gold?.close() }
        if config.ptxCoef > 0 {
            guard let train else {
                throw StageError.badParam("ptx_coef", "the pretraining mix needs the `tokens` input (train-split reviews); wire it or set ptx_coef: 0")
            }
            let length = min(config.ptxLength, policy.config.maxPositions)
            trainer.pretraining = try DocumentBatcher(documents: (0..<train.count).map { Array(train.record($0)) },
                                                      separator: eos, blockSize: length)
            context.log("ppo: pretraining mix ptx_coef \(config.ptxCoef) on \(train.count) train reviews, \(config.ptxBatchSize) rows × \(length) tokens per optimiser step")
        }

        let loop = try TrainingLoop(context: context, name: "ppo", steps: config.steps, evalEvery: trainer.gold?.every,
                                    checkpointEvery: config.checkpointEvery,
                                    progress: [.init("score", "objective/scores"), .init("kl", "objective/kl", format: "%.2f"),
                                               .init("β", "objective/kl_coef")],
                                    hint: "lower lr or raise init_kl_coef?")
        _ = try loop.run(trainer)

        // The output model is a plain LM (no value head), loadable as GPT2LMHeadModel.
        var lmConfig = policy.config
        lmConfig.valueHead = false
        let lm: GPTModel
        do { lm = try GPTModel(config: lmConfig, seed: context.seed) } catch { throw StageError.failed("\(error)") }
        ModelTransfer.copyMatchingTensors(from: policy, to: lm)
        try ModelArtifacts.save(lm, tokenizer: tokenizer, template: template, to: try context.outputPath("model"))
    }
}
