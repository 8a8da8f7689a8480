import Foundation
import Models
import Tensor
import Tokenizer

/// `sft`: trains a GPT (from scratch or an imported checkpoint) on the train-split reviews; reports
/// train/valid loss and perplexity; writes an HF-style model directory.
public enum SFTStage: BuiltinStage {
    public static let kind = "sft"

    public static func run(_ context: StageContext) throws {
        let pool = WorkerPool(threads: context.threads)
        let config = try SFTConfig(context.params)
        let tokensDir = try context.inputPath("tokens")
        let tokenizer = try ModelArtifacts.tokenizer(in: try context.inputPath("tokenizer"), input: "tokenizer")
        let eos = tokenizer.endOfTextId
        let train = try TokenFile.read(split: "train", in: tokensDir)
        let valid = try? TokenFile.read(split: "valid", in: tokensDir)
        guard train.vocabSize <= tokenizer.vocabSize else {
            throw StageError.badInput("tokens", "token files use a vocabulary of \(train.vocabSize) but tokenizer.json has \(tokenizer.vocabSize)")
        }

        let model: GPTModel
        if let initDir = try? context.inputPath("init") {
            model = try ModelArtifacts.load(initDir, input: "init", seed: context.seed)
            guard model.config.vocabSize >= tokenizer.vocabSize else {
                throw StageError.badInput("init", "checkpoint vocabulary \(model.config.vocabSize) is smaller than the tokenizer's \(tokenizer.vocabSize)")
            }
            guard config.blockSize <= model.config.maxPositions else {
                throw StageError.badParam("block_size", "\(config.blockSize) exceeds the checkpoint's n_positions \(model.config.maxPositions)")
            }
            context.log("sft: starting from \(initDir) (\(model.parameterCount) parameters)")
        } else {
            var c = GPTConfig(vocabSize: tokenizer.vocabSize, maxPositions: config.blockSize, channels: config.channels,
                              layers: config.layers, heads: config.heads)
            c.bosTokenID = Int(eos); c.eosTokenID = Int(eos); c.padTokenID = Int(tokenizer.padId)
            do { model = try GPTModel(config: c, seed: context.seed) } catch { throw StageError.failed("\(error)") }
            context.log("sft: new GPT \(config.layers)L \(config.heads)H \(config.channels)C, vocab \(c.vocabSize), \(model.parameterCount) parameters")
        }

        let trainDocs = train.records.map(Array.init)
        let validDocs = valid.map { $0.records.map(Array.init) }.flatMap { $0.isEmpty ? nil : $0 }
        let trainer = SFTTrainer(config: config, model: model,
                                 train: try DocumentBatcher(documents: trainDocs, separator: eos, blockSize: config.blockSize),
                                 valid: try validDocs.map { try DocumentBatcher(documents: $0, separator: eos, blockSize: config.blockSize) },
                                 seed: context.seed, pool: pool)
        let loop = try TrainingLoop(context: context, name: "sft", steps: config.steps, evalEvery: config.evalInterval,
                                    checkpointEvery: config.checkpointEvery, progress: [.init("loss", "train/loss")])
        let summary = try loop.run(trainer)
        try writeSummary(try context.outputPath("metrics"), trainLoss: summary.smoothed("train/loss"),
                         validLoss: summary.evaluation("valid/loss"))
        context.log("sft: \(Int(Double(summary.stepsRun * config.batchSize * config.blockSize) / max(summary.seconds, 1e-9))) training tokens/s")
        try ModelArtifacts.save(model, tokenizer: tokenizer, to: try context.outputPath("model"))
    }

    public static func checkParams(_ params: StageParams) throws { _ = try SFTConfig(params) }

    static func writeSummary(_ dir: String, trainLoss: Double, validLoss: Double?) throws {
        var members: [(String, String)] = [("train_loss", JSONText.number(trainLoss))]
        if let v = validLoss { members += [("valid_loss", JSONText.number(v)), ("valid_perplexity", JSONText.number(exp(v)))] }
        try Data((JSONText.object(members) + "\n").utf8).write(to: URL(fileURLWithPath: dir + "/summary.json"))
    }
}
