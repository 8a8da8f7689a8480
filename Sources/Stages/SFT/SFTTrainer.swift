import Foundation
import Models
import Tensor

/// Hyper-parameters of supervised fine-tuning (the `sft` stage's params; docs and defaults in
/// stages/sft.yaml and stages/shared/optimizer.yaml).
public struct SFTConfig: Sendable, Equatable {
    public let layers: Int, heads: Int, channels: Int
    public let blockSize: Int
    public let batchSize: Int
    public let steps: Int
    public let optimizer: OptimizerSettings
    public let evalInterval: Int
    public let evalBatches: Int
    public let checkpointEvery: Int
    /// Prompt-completion data: also learn the prompt tokens; cut long rows at their start; pack rows.
    public let trainOnPrompt: Bool, keepEnd: Bool, packing: Bool

    public init(_ p: StageParams) throws {
        layers = try p.int("n_layer"); heads = try p.int("n_head"); channels = try p.int("n_embd")
        blockSize = try p.int("block_size"); batchSize = try p.int("batch_size"); steps = try p.int("steps")
        optimizer = try OptimizerSettings(p)
        evalInterval = try p.int("eval_interval"); evalBatches = try p.int("eval_batches")
        checkpointEvery = try p.int("checkpoint_every")
        trainOnPrompt = try p.bool("train_on_prompt"); packing = try p.bool("packing")
        keepEnd = try p.string("truncation") == "keep_end"
        _ = try TemplateFile.resolve(p, storedWith: nil)
        guard channels % heads == 0 else {
            throw StageError.badParam("n_embd", "\(channels) must be a multiple of n_head (\(heads))")
        }
    }
}

/// Next-token training of a GPT on packed documents (`DocumentBatcher`) or on prompt → completion
/// examples with the loss on the completion (`ExampleBatcher`). Each batch runs in fixed row shards on
/// the pool's threads (`ModelReplicas`): the same bytes for any thread count.
public final class SFTTrainer: Trainer {
    public let config: SFTConfig
    public let model: GPTModel
    let replicas: ModelReplicas
    public let optimizer: AdamW
    public let schedule: LearningRateSchedule
    public let train: any LanguageModelBatches
    public let valid: (any LanguageModelBatches)?
    public var random: RandomStream
    public private(set) var step = 0

    public init(config: SFTConfig, model: GPTModel, train: any LanguageModelBatches, valid: (any LanguageModelBatches)?,
                seed: UInt64, pool: WorkerPool = WorkerPool(threads: 1)) {
        self.config = config
        self.model = model
        self.replicas = ModelReplicas(model, pool: pool)
        self.optimizer = config.optimizer.optimizer(for: model)
        self.schedule = config.optimizer.schedule(totalSteps: config.steps)
        self.train = train
        self.valid = valid
        self.random = RandomStream(seed: seed, stream: streamID(0x5346_54)) // "SFT"
    }

    public func trainStep() throws -> [(String, Double)] {
        let batch = train.batch(size: config.batchSize, random: &random)
        let loss = replicas.languageModelLoss(inputs: batch.inputs, targets: batch.targets, lossMask: batch.lossMask,
                                              rows: config.batchSize, time: config.blockSize, gradient: true)
        let lr = schedule.rate(at: step)
        let norm = config.optimizer.apply(optimizer, to: model, learningRate: lr, pool: replicas.pool)
        step += 1
        return [("train/loss", Double(loss)), ("train/lr", Double(lr)), ("train/grad_norm", Double(norm))]
    }

    public func evaluate() throws -> [(String, Double)] {
        guard let loss = validationLoss() else { return [] }
        return [("valid/loss", loss), ("valid/perplexity", exp(loss))]
    }

    /// Mean next-token loss over the deterministic validation batches (nil without a validation set).
    public func validationLoss() -> Double? {
        guard let valid else { return nil }
        var total = 0.0
        for i in 0..<config.evalBatches {
            let batch = valid.evaluationBatch(index: i, size: config.batchSize, of: config.evalBatches)
            total += Double(replicas.languageModelLoss(inputs: batch.inputs, targets: batch.targets, lossMask: batch.lossMask,
                                                       rows: config.batchSize, time: config.blockSize, gradient: false))
        }
        return total / Double(config.evalBatches)
    }

    struct State: Codable { var step: Int; var randomCounter: UInt64 }

    public func saveState(to directory: String) throws {
        try TrainerState.saveModel(model, optimizer: optimizer, to: directory)
        try TrainerState.writeJSON(State(step: step, randomCounter: random.counter), to: directory + "/state.json")
    }

    public func restoreState(from directory: String) throws {
        let state = try TrainerState.readJSON(State.self, from: directory + "/state.json")
        try TrainerState.restoreModel(model, optimizer: optimizer, from: directory)
        step = state.step
        random = RandomStream(seed: random.generator.seed, stream: random.stream, counter: state.randomCounter)
    }
}
