import Foundation
import Models
import Tensor

/// Hyper-parameters of reward-model training (the `rm` stage's params; docs in stages/rm.yaml).
public struct RewardTrainingConfig: Sendable, Equatable {
    public var epochs = 1
    public var batchSize = 16
    public var learningRate: Float = 1e-4
    public var warmupSteps = 20
    public var weightDecay: Float = 0
    public var gradClip: Float = 1
    public var centring = 0.01

    public init() {}

    public init(_ p: StageParams) throws {
        epochs = try p.int("epochs"); batchSize = try p.int("batch_size"); learningRate = try p.float("lr")
        warmupSteps = try p.int("warmup_steps"); weightDecay = try p.float("weight_decay")
        gradClip = try p.float("grad_clip"); centring = try p.double("centring")
    }
}

/// Held-out quality of a reward model on preference pairs.
public struct PairEvaluation: Sendable {
    public var accuracy: Double
    public var margin: Double
    public var loss: Double
    public var meanChosen: Double
    public var meanRejected: Double
    public var pairs: Int
}

/// Bradley–Terry training of a GPT with a reward head: chosen and rejected sequences of a minibatch go
/// through the model as one right-padded batch; the head reads each row's last real token.
public final class RewardTrainer {
    public let config: RewardTrainingConfig
    public let model: GPTModel
    public let optimizer: AdamW
    public let pad: Int32
    public var random: RandomStream
    public private(set) var step = 0

    public init(config: RewardTrainingConfig, model: GPTModel, pad: Int32, seed: UInt64) {
        precondition(model.config.rewardHead, "RewardTrainer needs a model with a reward head")
        self.config = config
        self.model = model
        self.pad = pad
        self.optimizer = AdamW(for: model, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: config.weightDecay)
        self.random = RandomStream(seed: seed, stream: streamID(0x524D)) // "RM"
    }

    /// Right-padded batch: row i < n is chosen[i], row n + i is rejected[i].
    static func batch(_ pairs: ArraySlice<PreferencePair>, pad: Int32, maxLength: Int) -> TokenBatch {
        let seqs = pairs.map { Array($0.chosen.prefix(maxLength)) } + pairs.map { Array($0.rejected.prefix(maxLength)) }
        let t = seqs.map(\.count).max() ?? 1
        var tokens: [Int32] = [], mask: [Int32] = []
        for s in seqs {
            tokens += s + Array(repeating: pad, count: t - s.count)
            mask += Array(repeating: 1, count: s.count) + Array(repeating: 0, count: t - s.count)
        }
        return TokenBatch(tokens: tokens, batch: seqs.count, time: t, attentionMask: mask)
    }

    /// Scores of chosen and rejected sequences of the given pairs.
    public func rewards(_ pairs: ArraySlice<PreferencePair>) -> (chosen: [Float], rejected: [Float]) {
        model.forward(Self.batch(pairs, pad: pad, maxLength: model.config.maxPositions), computeLogits: false)
        let r = Array(model.rewards)
        return (Array(r[0..<pairs.count]), Array(r[pairs.count...]))
    }

    /// Total optimiser steps for `pairs` training pairs.
    public func totalSteps(pairs: Int) -> Int { config.epochs * max(1, pairs / config.batchSize) }

    /// Trains over all epochs, calling `report` after each step with (step, total, loss, accuracy, margin, lr).
    public func train(_ pairs: [PreferencePair],
                      report: (Int, Int, BradleyTerry.Result, Float) throws -> Void) throws
    {
        let perEpoch = max(1, pairs.count / config.batchSize)
        let total = totalSteps(pairs: pairs.count)
        let schedule = LearningRateSchedule(peak: config.learningRate, minimum: config.learningRate * 0.1,
                                            warmupSteps: config.warmupSteps, totalSteps: total)
        for _ in 0..<config.epochs {
            var order = Array(0..<pairs.count)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, random.nextInt(below: i + 1)) }
            for k in 0..<perEpoch {
                let idx = order[(k * config.batchSize)..<min(order.count, (k + 1) * config.batchSize)]
                let mbPairs = ArraySlice(idx.map { pairs[$0] })
                let (c, r) = rewards(mbPairs)
                let result = BradleyTerry.evaluate(chosen: c, rejected: r, centring: config.centring)
                model.zeroGradients()
                let dRewards = result.gradChosen + result.gradRejected
                dRewards.withUnsafeBufferPointer { model.backward(dRewards: $0.baseAddress!) }
                clipGradientNorm(model, maxNorm: config.gradClip)
                let lr = schedule.rate(at: step)
                optimizer.update(model, learningRate: lr)
                step += 1
                try report(step, total, result, lr)
            }
        }
    }

    /// Accuracy, margin and loss over held-out pairs, in batches.
    public func evaluate(_ pairs: [PreferencePair]) -> PairEvaluation {
        var chosen: [Float] = [], rejected: [Float] = []
        for start in stride(from: 0, to: pairs.count, by: config.batchSize) {
            let (c, r) = rewards(pairs[start..<min(pairs.count, start + config.batchSize)])
            chosen += c; rejected += r
        }
        let bt = BradleyTerry.evaluate(chosen: chosen, rejected: rejected)
        let mc = chosen.reduce(0.0) { $0 + Double($1) } / Double(chosen.count)
        let mr = rejected.reduce(0.0) { $0 + Double($1) } / Double(rejected.count)
        return PairEvaluation(accuracy: bt.accuracy, margin: bt.margin, loss: bt.loss, meanChosen: mc,
                              meanRejected: mr, pairs: pairs.count)
    }
}
