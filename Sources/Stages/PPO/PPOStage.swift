import Foundation
import Models
import Tensor
import Tokenizer

/// `ppo`: the classic RLHF sentiment recipe. Policy and frozen reference start from the SFT model; the
/// reward model scores `[EOS] + prompt + response` at its last token. Resumable: every
/// `checkpoint_every` steps the `checkpoint` output gets the policy with its value head, the AdamW
/// moments, β, the RNG counter and the step; a run that finds `state.json` there continues from it.
public enum PPOStage: BuiltinStage {
    public static let kind = "ppo"
    public static let implementationVersion = 2

    public static let classicPrompts = ["刚收到货，感觉", "这部电影很", "说实话，真的很", "这次购物总的来说体验很"]

    public static func run(_ context: StageContext) throws {
        BLAS.setThreads(context.threads)
        let config = try PPOConfig(context.params)
        let policyDir = try context.inputPath("policy")
        let rewardDir = try context.inputPath("reward")
        let tokenizer = try ModelArtifacts.tokenizer(in: policyDir, input: "policy")
        let eos = tokenizer.endOfTextId, pad = tokenizer.padId
        // The train split feeds both the corpus prompts and the pretraining mix: read it once.
        let needsTrain = try context.params.int("corpus_prompts") > 0 || config.ptxCoef > 0
        let train = try (needsTrain ? try? context.inputPath("tokens") : nil).map { try TokenFile.read(split: "train", in: $0) }
        let prompts = try buildPrompts(context, tokenizer: tokenizer, train: train)
        context.log("ppo: \(prompts.count) prompts (\(try context.params.strings("prompts").count) fixed)")

        let checkpointDir = try context.outputPath("checkpoint")
        let statePath = checkpointDir + "/" + PPOCheckpointState.fileName
        let resuming = FileManager.default.fileExists(atPath: statePath)
        let policy = try ModelArtifacts.load(resuming ? checkpointDir : policyDir, input: resuming ? "checkpoint" : "policy",
                                             valueHead: true, seed: context.seed)
        if !resuming { ModelTransfer.zero(policy, tensorsWithPrefix: "v_head.") }
        let reference = try ModelArtifacts.load(policyDir, input: "policy")
        let rewardModel = try ModelArtifacts.load(rewardDir, input: "reward", rewardHead: true)
        guard rewardModel.config.vocabSize == policy.config.vocabSize else {
            throw StageError.badInput("reward", "vocabulary \(rewardModel.config.vocabSize) differs from the policy's \(policy.config.vocabSize)")
        }
        var optimizer: AdamW?
        if resuming { optimizer = try policy.loadOptimizer(from: checkpointDir) }
        let trainer = try PPOTrainer(config: config, policy: policy, reference: reference, rewardModel: rewardModel,
                                     prompts: prompts, eos: eos, pad: pad, seed: context.seed, optimizer: optimizer)
        if config.ptxCoef > 0 {
            guard let train else {
                throw StageError.badParam("ptx_coef", "the pretraining mix needs the `tokens` input (train-split reviews); wire it or set ptx_coef: 0")
            }
            let length = min(config.ptxLength, policy.config.maxPositions)
            trainer.pretraining = try DocumentBatcher(documents: (0..<train.count).map { Array(train.record($0)) },
                                                      separator: eos, blockSize: length)
            context.log("ppo: pretraining mix ptx_coef \(config.ptxCoef) on \(train.count) train reviews, \(config.ptxBatchSize) rows × \(length) tokens per optimiser step")
        }
        if resuming {
            let state = try PPOCheckpointState.read(statePath)
            trainer.restore(state)
            context.log("ppo: resuming at step \(state.step) (β \(state.klCoef)) from \(checkpointDir)")
        }

        let metrics = try TrainingMetrics(directory: try context.outputPath("metrics"), context: context)
        let clock = ProgressClock()
        let first = trainer.step
        while trainer.step < config.steps {
            let values = try trainer.trainStep()
            let step = trainer.step
            for (name, v) in values where !v.isFinite {
                throw StageError.failed("ppo: \(name) became \(v) at step \(step) (lower lr or raise init_kl_coef?)")
            }
            try metrics.record(step: step, values)
            func value(_ name: String) -> Double { values.first { $0.0 == name }?.1 ?? .nan }
            let message = String(format: "score %.3f kl %.2f β %.3f", value("objective/scores"), value("objective/kl"), trainer.controller.value)
            context.progress(phase: "ppo", step: step, total: config.steps,
                             message: message + " " + clock.eta(step: step - first, total: config.steps - first))
            if step % 10 == 0 || step == config.steps { context.log("ppo step \(step): \(message)") }
            if step % config.checkpointEvery == 0 || step == config.steps {
                try policy.save(to: checkpointDir, optimizer: trainer.optimizer)
                try tokenizer.save(directory: checkpointDir, modelMaxLength: policy.config.maxPositions)
                try trainer.state.write(statePath)
            }
        }
        metrics.close()

        // The output model is a plain LM (no value head), loadable as GPT2LMHeadModel.
        var lmConfig = policy.config
        lmConfig.valueHead = false
        let lm: GPTModel
        do { lm = try GPTModel(config: lmConfig, seed: context.seed) } catch { throw StageError.failed("\(error)") }
        ModelTransfer.copyMatchingTensors(from: policy, to: lm)
        try ModelArtifacts.save(lm, tokenizer: tokenizer, to: try context.outputPath("model"))
    }

    /// The fixed prompts (the classic four by default) plus `corpus_prompts` train-split review openings
    /// of `prompt_tokens` tokens, each as `[EOS] + tokens`.
    static func buildPrompts(_ context: StageContext, tokenizer: BPETokenizer, train: TokenFile?) throws -> [[Int32]] {
        let eos = tokenizer.endOfTextId
        var prompts = try context.params.strings("prompts").map { ModelArtifacts.withBOS(tokenizer.encode($0, allowSpecial: false), eos: eos) }
        let wanted = try context.params.int("corpus_prompts"), length = try context.params.int("prompt_tokens")
        if wanted > 0, let train {
            let eligible = (0..<train.count).filter { train.record($0).count > length }
            // Evenly spaced over the file (ordered by content hash, so effectively a random sample).
            let stride = max(1, eligible.count / max(wanted, 1))
            for k in 0..<min(wanted, eligible.count) {
                prompts.append(ModelArtifacts.withBOS(train.record(eligible[k * stride]).prefix(length), eos: eos))
            }
        }
        guard !prompts.isEmpty else { throw StageError.badParam("prompts", "no prompts: give `prompts` or wire `tokens` with corpus_prompts > 0") }
        return prompts
    }
}

/// The scalar part of a PPO checkpoint (weights and AdamW moments are in the safetensors files).
public struct PPOCheckpointState: Codable, Equatable, Sendable {
    public static let fileName = "state.json"
    public var step: Int
    public var klCoef: Double
    public var controller: KLController
    public var randomCounter: UInt64

    public func write(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public static func read(_ path: String) throws -> PPOCheckpointState {
        guard let data = FileManager.default.contents(atPath: path) else { throw StageError.failed("\(path): cannot read") }
        do { return try JSONDecoder().decode(PPOCheckpointState.self, from: data) } catch {
            throw StageError.failed("\(path): not a PPO checkpoint state (\(error)); delete the checkpoint directory to start over")
        }
    }
}

extension PPOTrainer {
    public var state: PPOCheckpointState {
        PPOCheckpointState(step: step, klCoef: controller.value, controller: controller, randomCounter: random.counter)
    }

    public func restore(_ s: PPOCheckpointState) {
        step = s.step
        controller = s.controller
        random = RandomStream(seed: random.generator.seed, stream: random.stream, counter: s.randomCounter)
    }
}
