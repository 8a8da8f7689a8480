import Foundation
import Models
import Tensor

/// Hyper-parameters of supervised fine-tuning (the `sft` stage's params; docs in stages/sft.yaml).
public struct SFTConfig: Sendable, Equatable {
    public var layers = 4, heads = 4, channels = 256
    public var blockSize = 64
    public var batchSize = 16
    public var steps = 1500
    public var learningRate: Float = 6e-4
    public var minLearningRateRatio: Float = 0.1
    public var warmupSteps = 100
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9, beta2: Float = 0.95
    public var gradClip: Float = 1
    public var evalInterval = 250
    public var evalBatches = 8

    public init() {}

    public init(_ p: StageParams) throws {
        layers = try p.int("n_layer"); heads = try p.int("n_head"); channels = try p.int("n_embd")
        blockSize = try p.int("block_size"); batchSize = try p.int("batch_size"); steps = try p.int("steps")
        learningRate = try p.float("lr"); minLearningRateRatio = try p.float("min_lr_ratio")
        warmupSteps = try p.int("warmup_steps"); weightDecay = try p.float("weight_decay")
        beta1 = try p.float("beta1"); beta2 = try p.float("beta2"); gradClip = try p.float("grad_clip")
        evalInterval = try p.int("eval_interval"); evalBatches = try p.int("eval_batches")
        guard channels % heads == 0 else {
            throw StageError.badParam("n_embd", "\(channels) must be a multiple of n_head (\(heads))")
        }
    }

    public var schedule: LearningRateSchedule {
        LearningRateSchedule(peak: learningRate, minimum: learningRate * minLearningRateRatio,
                             warmupSteps: warmupSteps, totalSteps: steps)
    }
}

/// Next-token training of a GPT on packed, document-aligned rows (see `DocumentBatcher`).
public final class SFTTrainer {
    public let config: SFTConfig
    public let model: GPTModel
    public let optimizer: AdamW
    public let train: DocumentBatcher
    public let valid: DocumentBatcher?
    public var random: RandomStream
    public private(set) var step = 0

    public init(config: SFTConfig, model: GPTModel, train: DocumentBatcher, valid: DocumentBatcher?, seed: UInt64) {
        self.config = config
        self.model = model
        self.optimizer = AdamW(for: model, beta1: config.beta1, beta2: config.beta2, epsilon: 1e-8, weightDecay: config.weightDecay)
        self.train = train
        self.valid = valid
        self.random = RandomStream(seed: seed, stream: streamID(0x5346_54)) // "SFT"
    }

    /// One optimiser step; returns (loss, learning rate, gradient norm before clipping).
    public func trainStep() -> (loss: Float, lr: Float, gradNorm: Float) {
        let (inputs, targets) = train.batch(size: config.batchSize, random: &random)
        model.forward(TokenBatch(tokens: inputs, batch: config.batchSize, time: config.blockSize))
        let loss = model.crossEntropy(targets: targets)
        model.zeroGradients()
        model.backward(dLogits: model.logits.baseAddress!)
        let norm = clipGradientNorm(model, maxNorm: config.gradClip)
        let lr = config.schedule.rate(at: step)
        optimizer.update(model, learningRate: lr)
        step += 1
        return (loss, lr, norm)
    }

    /// Mean next-token loss over the deterministic validation batches (nil without a validation set).
    public func validationLoss() -> Double? {
        guard let valid else { return nil }
        var total = 0.0
        for i in 0..<config.evalBatches {
            let (inputs, targets) = valid.evaluationBatch(index: i, size: config.batchSize, of: config.evalBatches)
            model.forward(TokenBatch(tokens: inputs, batch: config.batchSize, time: config.blockSize))
            total += Double(model.crossEntropy(targets: targets, computeGradient: false))
        }
        return total / Double(config.evalBatches)
    }
}
