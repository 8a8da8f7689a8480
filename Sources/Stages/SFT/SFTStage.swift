import Foundation
import Models
import Tensor
import Tokenizer

/// `sft`: trains a GPT (from scratch or an imported checkpoint) on the train-split reviews; reports
/// train/valid loss and perplexity; writes an HF-style model directory.
public enum SFTStage: BuiltinStage {
    public static let kind = "sft"
    public static let implementationVersion = 1

    public static func run(_ context: StageContext) throws {
        BLAS.setThreads(context.threads)
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
                                 seed: context.seed)
        let metrics = try TrainingMetrics(directory: try context.outputPath("metrics"), context: context)
        let clock = ProgressClock()
        var smoothed: Double?
        var lastValid: Double?
        for step in 1...config.steps {
            let (loss, lr, norm) = trainer.trainStep()
            guard loss.isFinite else { throw StageError.failed("sft: loss became \(loss) at step \(step) (lower lr?)") }
            smoothed = smoothed.map { 0.95 * $0 + 0.05 * Double(loss) } ?? Double(loss)
            var values: [(String, Double)] = [("train/loss", Double(loss)), ("train/lr", Double(lr)), ("train/grad_norm", Double(norm))]
            if step % config.evalInterval == 0 || step == config.steps, let v = trainer.validationLoss() {
                lastValid = v
                values += [("valid/loss", v), ("valid/perplexity", exp(v))]
                context.log("sft step \(step): train loss \(String(format: "%.3f", smoothed!)), valid loss \(String(format: "%.3f", v)) (ppl \(String(format: "%.1f", exp(v))))")
            }
            try metrics.record(step: step, values)
            context.progress(phase: "train", step: step, total: config.steps,
                             message: "loss \(String(format: "%.3f", smoothed!)) \(clock.eta(step: step, total: config.steps))")
        }
        metrics.close()
        try writeSummary(metrics.directory, trainLoss: smoothed ?? .nan, validLoss: lastValid, tokensPerSecond:
                         Double(config.steps * config.batchSize * config.blockSize) / max(clock.elapsed, 1e-9), context: context)
        try ModelArtifacts.save(model, tokenizer: tokenizer, to: try context.outputPath("model"))
    }

    static func writeSummary(_ dir: String, trainLoss: Double, validLoss: Double?, tokensPerSecond: Double, context: StageContext) throws {
        var members: [(String, String)] = [("train_loss", JSONText.number(trainLoss))]
        if let v = validLoss { members += [("valid_loss", JSONText.number(v)), ("valid_perplexity", JSONText.number(exp(v)))] }
        try Data((JSONText.object(members) + "\n").utf8).write(to: URL(fileURLWithPath: dir + "/summary.json"))
        // Throughput is machine-dependent: log only, never in the artifact.
        context.log("sft: \(Int(tokensPerSecond)) training tokens/s")
    }
}
