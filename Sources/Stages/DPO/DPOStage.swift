import Foundation
import Models
import Tensor

/// `dpo`: direct preference optimisation of a policy on preference pairs (an `rm-pairs` output), against
/// a frozen reference (the policy's starting point unless `reference` is given), no reward model and no
/// sampling. Reports TRL's metrics and the held-out implicit-reward pair accuracy.
public enum DPOStage: BuiltinStage {
    public static let kind = "dpo"

    public static func checkParams(_ params: StageParams) throws { _ = try DPOConfig(params) }

    public static func run(_ context: StageContext) throws {
        let pool = context.workerPool()
        let config = try DPOConfig(context.params)
        let policyDir = try context.inputPath("policy")
        let pairsDir = try context.inputPath("pairs")
        let tokenizer = try ModelArtifacts.tokenizer(in: policyDir, input: "policy")
        let policy = try ModelArtifacts.load(policyDir, input: "policy")
        let referenceDir = (try? context.inputPath("reference")) ?? policyDir
        let reference = try ModelArtifacts.load(referenceDir, input: referenceDir == policyDir ? "policy" : "reference")
        guard reference.config.vocabSize == policy.config.vocabSize else {
            throw StageError.badInput("reference", "vocabulary \(reference.config.vocabSize) differs from the policy's \(policy.config.vocabSize)")
        }
        let maxLength = min(config.maxLength, policy.config.maxPositions)
        func load(_ name: String) throws -> [CompletionPair] {
            let raw = try PreferencePairsFile.read(pairsDir + "/" + name)
            for p in raw {
                if let bad = (p.chosen + p.rejected).first(where: { $0 < 0 || Int($0) >= policy.config.vocabSize }) {
                    throw StageError.badInput("pairs", "token id \(bad) in \(name) is outside the policy's vocabulary (\(policy.config.vocabSize)): pairs and policy come from different tokenizers")
                }
            }
            let usable = raw.compactMap { CompletionPair($0, maxLength: maxLength) }
            if usable.count < raw.count {
                context.log("dpo: \(raw.count - usable.count) of \(raw.count) pairs in \(name) have no completion after the prompt; skipped")
            }
            return usable
        }
        let train = try load(PreferencePairsFile.trainName)
        let valid = try load(PreferencePairsFile.validName)
        guard train.count >= config.batchSize else {
            throw StageError.badInput("pairs", "\(train.count) usable training pairs, fewer than batch_size \(config.batchSize)")
        }
        try PassMemory.require(policy, rows: config.batchSize, time: maxLength, param: "batch_size",
                               shape: "batch_size \(config.batchSize) × max_length \(maxLength)")
        context.log("dpo: \(train.count) training pairs, \(valid.count) held out; loss \(config.lossType.rawValue), β \(config.beta)")
        let trainer = try DPOTrainer(config: config, policy: policy, reference: reference, pairs: train, heldOut: valid,
                                     pad: tokenizer.padId, seed: context.seed, pool: pool)
        let loop = try TrainingLoop(context: context, name: "dpo", steps: trainer.totalSteps,
                                    evalEvery: max(1, trainer.totalSteps / 5), checkpointEvery: config.checkpointEvery,
                                    progress: [.init("loss", "train/loss"), .init("acc", "train/rewards/accuracies", format: "%.2f"),
                                               .init("margin", "train/rewards/margins")])
        let summary = try loop.run(trainer)
        let evaluation = summary.lastEvaluation.map { ($0.0, JSONText.number($0.1)) }
        if !evaluation.isEmpty {
            try Data((JSONText.object(evaluation) + "\n").utf8).write(to: URL(fileURLWithPath: try context.outputPath("metrics") + "/eval.json"))
        }
        // The policy keeps the template it was trained with (the pairs were rendered through it).
        try ModelArtifacts.save(policy, tokenizer: tokenizer, template: try TemplateFile.load(from: policyDir), to: try context.outputPath("model"))
    }
}
