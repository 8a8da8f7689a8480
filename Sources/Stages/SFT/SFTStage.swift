import Foundation
import Models
import Tensor
import Tokenizer

/// `sft`: trains a GPT (from scratch or an imported checkpoint) on the train-split reviews; reports
/// train/valid loss and perplexity; writes an HF-style model directory.
public enum SFTStage: BuiltinStage {
    public static let kind = "sft"

    public static func run(_ context: StageContext) throws {
        let pool = context.workerPool()
        let config = try SFTConfig(context.params)
        let tokenizer = try ModelArtifacts.tokenizer(in: try context.inputPath("tokenizer"), input: "tokenizer")
        let eos = tokenizer.endOfTextId
        let initDir = try? context.inputPath("init")
        let template = try TemplateFile.resolve(context.params, storedWith: initDir)
        let (train, valid) = try trainingBatches(context, config: config, tokenizer: tokenizer, template: template)

        let model: GPTModel
        if let initDir {
            model = try ModelArtifacts.load(initDir, input: "init", seed: context.seed)
            try ModelArtifacts.checkVocabulary(model, of: initDir, input: "init", tokenizer: tokenizer)
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

        try PassMemory.require(model, rows: config.batchSize, time: config.blockSize, param: "batch_size",
                               shape: "batch_size \(config.batchSize) × block_size \(config.blockSize)")
        let trainer = SFTTrainer(config: config, model: model, train: train, valid: valid, seed: context.seed, pool: pool)
        let loop = try TrainingLoop(context: context, name: "sft", steps: config.steps, evalEvery: config.evalInterval,
                                    checkpointEvery: config.checkpointEvery, progress: [.init("loss", "train/loss")])
        let summary = try loop.run(trainer)
        try writeSummary(try context.outputPath("metrics"), trainLoss: summary.smoothed("train/loss"),
                         validLoss: summary.evaluation("valid/loss"))
        context.log("sft: \(Int(Double(summary.stepsRun * config.batchSize * config.blockSize) / max(summary.seconds, 1e-9))) training tokens/s")
        try ModelArtifacts.save(model, tokenizer: tokenizer, template: template, to: try context.outputPath("model"))
    }

    /// Train and validation batches: packed documents from token files (`tokens`) or from a text or
    /// labelled dataset, or prompt → completion examples from a prompt-completion dataset (`data`).
    static func trainingBatches(_ context: StageContext, config: SFTConfig, tokenizer: PretrainedTokenizer,
                                template: PromptTemplate) throws -> (any LanguageModelBatches, (any LanguageModelBatches)?) {
        let eos = tokenizer.endOfTextId
        let tokensDir = try? context.inputPath("tokens"), dataDir = try? context.inputPath("data")
        guard (tokensDir == nil) != (dataDir == nil) else {
            throw StageError.badInput(tokensDir == nil ? "data" : "tokens", "give exactly one of `tokens` (token files) and `data` (a dataset)")
        }
        func documents(_ docs: [[Int32]]) throws -> DocumentBatcher? {
            docs.contains { !$0.isEmpty } ? try DocumentBatcher(documents: docs, separator: eos, blockSize: config.blockSize) : nil
        }
        if let tokensDir {
            let train = try TokenFile.read(split: "train", in: tokensDir)
            guard train.vocabSize <= tokenizer.vocabSize else {
                throw StageError.badInput("tokens", "token files use a vocabulary of \(train.vocabSize) but tokenizer.json has \(tokenizer.vocabSize)")
            }
            let valid = try? TokenFile.read(split: "valid", in: tokensDir)
            guard let trainBatches = try documents(train.records.map(Array.init)) else {
                throw StageError.badInput("tokens", "the train split has no tokens")
            }
            return (trainBatches, try valid.flatMap { try documents($0.records.map(Array.init)) })
        }
        let dataset = try DatasetReader(directory: dataDir!)
        try dataset.require([.text, .labelled, .promptCompletion], input: "data")
        let records = TemplatedRecords(template: template, tokenizer: tokenizer)
        func batches(_ split: String) throws -> (any LanguageModelBatches)? {
            guard dataset.splits.contains(split) else { return nil }
            if dataset.kind == .promptCompletion {
                var examples: [PromptCompletionExample] = []
                var index = 0
                try dataset.forEachRecord(in: split) { record in
                    index += 1
                    guard case .promptCompletion(let r) = record else { return }
                    examples.append(try TemplatedRecords.located("\(split).jsonl record \(index)") { try records.example(r) })
                }
                return examples.isEmpty ? nil : try ExampleBatcher(
                    examples: examples, eos: eos, pad: tokenizer.padId, blockSize: config.blockSize,
                    trainOnPrompt: config.trainOnPrompt, keepEnd: config.keepEnd, packing: config.packing)
            }
            var docs: [[Int32]] = []
            try dataset.forEachRecord(in: split) { docs.append(tokenizer.encode($0.texts.joined(separator: "\n"), allowSpecial: false)) }
            return try documents(docs)
        }
        guard let train = try batches("train") else { throw StageError.badInput("data", "the dataset's train split is empty") }
        context.log("sft: \(dataset.kind.rawValue) dataset, template \(JSONText.quoted(template.text))")
        return (train, try batches("valid"))
    }

    public static func checkParams(_ params: StageParams) throws { _ = try SFTConfig(params) }

    static func writeSummary(_ dir: String, trainLoss: Double, validLoss: Double?) throws {
        var members: [(String, String)] = [("train_loss", JSONText.number(trainLoss))]
        if let v = validLoss { members += [("valid_loss", JSONText.number(v)), ("valid_perplexity", JSONText.number(exp(v)))] }
        try Data((JSONText.object(members) + "\n").utf8).write(to: URL(fileURLWithPath: dir + "/summary.json"))
    }
}
