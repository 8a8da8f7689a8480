import Foundation
import Models
import Tensor

/// Hyper-parameters of reward-model training (the `rm` stage's params; docs and defaults in
/// stages/rm.yaml and stages/shared/optimizer.yaml).
public struct RewardTrainingConfig: Sendable, Equatable {
    public let epochs: Int
    public let batchSize: Int
    public let optimizer: OptimizerSettings
    public let centring: Double
    public let checkpointEvery: Int

    public init(_ p: StageParams) throws {
        epochs = try p.int("epochs"); batchSize = try p.int("batch_size")
        optimizer = try OptimizerSettings(p)
        centring = try p.double("centring")
        checkpointEvery = try p.int("checkpoint_every")
    }
}

/// Bradley–Terry training of a GPT with a reward head: chosen and rejected sequences of a minibatch go
/// through the model as one right-padded batch; the head reads each row's last real token. Each epoch
/// visits the pairs in a fresh shuffled order; the last partial minibatch of an epoch is dropped.
/// A minibatch runs in shards of `RowShards.training(rows:)` pairs on the pool's threads: every shard's
/// forward, the loss over the whole minibatch, every shard's backward, gradients summed in shard order.
public final class RewardTrainer: Trainer {
    public let config: RewardTrainingConfig
    public let model: GPTModel
    let replicas: ModelReplicas
    public let optimizer: AdamW
    public let pad: Int32
    public let pairs: [PreferencePair]
    public let heldOut: [PreferencePair]
    public let totalSteps: Int
    var batches: EpochBatches
    let schedule: LearningRateSchedule
    public var random: RandomStream
    public private(set) var step = 0

    public init(config: RewardTrainingConfig, model: GPTModel, pad: Int32, pairs: [PreferencePair],
                heldOut: [PreferencePair], seed: UInt64, pool: WorkerPool = WorkerPool(threads: 1)) {
        precondition(model.config.rewardHead, "RewardTrainer needs a model with a reward head")
        self.config = config
        self.model = model
        self.replicas = ModelReplicas(model, pool: pool)
        self.pad = pad
        self.pairs = pairs
        self.heldOut = heldOut
        self.batches = EpochBatches(count: pairs.count, batchSize: config.batchSize)
        self.totalSteps = config.epochs * batches.stepsPerEpoch
        self.schedule = config.optimizer.schedule(totalSteps: totalSteps)
        self.optimizer = config.optimizer.optimizer(for: model)
        self.random = RandomStream(seed: seed, stream: streamID(0x524D)) // "RM"
    }

    /// Scores of chosen and rejected sequences of the given pairs.
    public func rewards(_ pairs: ArraySlice<PreferencePair>) -> (chosen: [Float], rejected: [Float]) {
        PairScoring.rewards(replicas, Array(pairs), pad: pad)
    }

    public func trainStep() throws -> [(String, Double)] {
        let batch = batches.indices(step: step, random: &random).map { pairs[$0] }
        let shards = RowShards.training(rows: batch.count)
        // Forward every shard on its own replica (kept for the backward below).
        let scores = replicas.map(shards: shards.count) { shard, replica in
            PairScoring.rewards(replica, batch[shards[shard]], pad: pad)
        }
        let margins = batch.contains { $0.margin != nil } ? batch.map { $0.margin ?? 0 } : nil
        let result = BradleyTerry.evaluate(chosen: scores.flatMap(\.chosen), rejected: scores.flatMap(\.rejected),
                                           margins: margins, centring: config.centring)
        replicas.accumulateGradients(shards: shards.count) { shard, replica in
            let rows = shards[shard]
            let dRewards = Array(result.gradChosen[rows]) + Array(result.gradRejected[rows])
            dRewards.withUnsafeBufferPointer { replica.backward(dRewards: $0.baseAddress!) }
        }
        let lr = schedule.rate(at: step)
        config.optimizer.apply(optimizer, to: model, learningRate: lr, pool: replicas.pool)
        step += 1
        return [("train/loss", result.loss), ("train/accuracy", result.accuracy),
                ("train/margin", result.margin), ("train/lr", Double(lr))]
    }

    public func evaluate() throws -> [(String, Double)] {
        guard !heldOut.isEmpty else { return [] }
        let e = evaluate(heldOut)
        return [("eval/accuracy", e.accuracy), ("eval/margin", e.margin), ("eval/loss", e.loss)]
    }

    /// Accuracy, margin and loss over held-out pairs.
    public func evaluate(_ pairs: [PreferencePair]) -> PairEvaluation {
        PairScoring.evaluate(replicas, pairs, pad: pad)
    }

    public func saveState(to directory: String) throws {
        try TrainerState.saveEpochTrainer(model, optimizer: optimizer, step: step, random: random, batches: batches, to: directory)
    }

    public func restoreState(from directory: String) throws {
        step = try TrainerState.restoreEpochTrainer(model, optimizer: optimizer, random: &random, batches: &batches, from: directory)
    }
}
