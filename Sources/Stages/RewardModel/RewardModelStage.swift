import Foundation
import Models
import Tensor

/// `rm`: reward model = SFT backbone + scalar head (`score.weight`) read at the last real token, trained
/// with the Bradley–Terry loss (+ optional centring); reports held-out pair accuracy and margin.
public enum RewardModelStage: BuiltinStage {
    public static let kind = "rm"

    public static func checkParams(_ params: StageParams) throws { _ = try RewardTrainingConfig(params) }

    public static func run(_ context: StageContext) throws {
        let pool = context.workerPool()
        let config = try RewardTrainingConfig(context.params)
        let pairsDir = try context.inputPath("pairs")
        let initDir = try context.inputPath("init")
        let train = try PreferencePairsFile.read(pairsDir + "/" + PreferencePairsFile.trainName)
        let valid = try PreferencePairsFile.read(pairsDir + "/" + PreferencePairsFile.validName)
        guard !train.isEmpty else { throw StageError.badInput("pairs", "\(pairsDir)/\(PreferencePairsFile.trainName) has no pairs") }
        let tokenizer = try ModelArtifacts.tokenizer(in: initDir, input: "init")
        let model = try ModelArtifacts.load(initDir, input: "init", rewardHead: true, seed: context.seed)
        let longest = (train + valid).map { max($0.chosen.count, $0.rejected.count) }.max() ?? 0
        if longest > model.config.maxPositions {
            context.log("rm: pairs up to \(longest) tokens are cut to n_positions \(model.config.maxPositions)")
        }
        for p in train + valid {
            if let bad = (p.chosen + p.rejected).first(where: { $0 < 0 || Int($0) >= model.config.vocabSize }) {
                throw StageError.badInput("pairs", "token id \(bad) is outside the model's vocabulary (\(model.config.vocabSize)): pairs and init come from different tokenizers")
            }
        }
        try PassMemory.require(model, rows: config.batchSize, time: min(longest, model.config.maxPositions), param: "batch_size",
                               shape: "batch_size \(config.batchSize) × pairs of up to \(min(longest, model.config.maxPositions)) tokens")
        let trainer = RewardTrainer(config: config, model: model, pad: tokenizer.padId, pairs: train, heldOut: valid, seed: context.seed, pool: pool)
        let metricsDir = try context.outputPath("metrics")
        let loop = try TrainingLoop(context: context, name: "rm", steps: trainer.totalSteps,
                                    evalEvery: max(1, trainer.totalSteps / 5), checkpointEvery: config.checkpointEvery,
                                    progress: [.init("loss", "train/loss"), .init("acc", "train/accuracy", format: "%.2f")])
        _ = try loop.run(trainer)
        if !valid.isEmpty {
            let e = trainer.evaluate(valid)
            let json = JSONText.object([
                ("pairs", String(e.pairs)), ("accuracy", JSONText.number(e.accuracy)), ("margin", JSONText.number(e.margin)),
                ("loss", JSONText.number(e.loss)), ("mean_chosen", JSONText.number(e.meanChosen)),
                ("mean_rejected", JSONText.number(e.meanRejected)),
            ])
            try Data((json + "\n").utf8).write(to: URL(fileURLWithPath: metricsDir + "/eval.json"))
            context.log("rm: held-out pair accuracy \(String(format: "%.3f", e.accuracy)), margin \(String(format: "%.3f", e.margin)) over \(e.pairs) pairs")
        }
        try ModelArtifacts.save(model, tokenizer: tokenizer, to: try context.outputPath("model"))
    }
}
