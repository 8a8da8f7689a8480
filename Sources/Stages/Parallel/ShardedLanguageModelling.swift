import Models
import Tensor

extension ModelReplicas {
    /// Mean next-token cross-entropy of a (rows × time) batch over the positions `lossMask` counts (all
    /// without one), computed in the shards of `RowShards.training(rows:)`, times `scale`. With
    /// `gradient`, the gradient of that loss is summed over the shards into
    /// `model.gradients` (added to what it holds when `adding`, as the PPO pretraining mix does).
    public func languageModelLoss(inputs: [Int32], targets: [Int32], lossMask: [Float]? = nil, rows: Int, time: Int,
                                  scale: Float = 1, gradient: Bool, adding: Bool = false) -> Float {
        precondition(inputs.count == rows * time && targets.count == rows * time,
                     "languageModelLoss: \(inputs.count) inputs and \(targets.count) targets for \(rows) × \(time)")
        let shards = RowShards.training(rows: rows)
        // The whole batch's count divides every shard, so the shards add up to the batch's mean.
        let normalizer = lossMask.map { $0.reduce(0, +) } ?? Float(rows * time)
        func shardLoss(_ shard: Int, _ replica: GPTModel) -> Float {
            let span = (shards[shard].lowerBound * time)..<(shards[shard].upperBound * time)
            replica.forward(TokenBatch(tokens: Array(inputs[span]), batch: shards[shard].count, time: time))
            let loss = replica.crossEntropy(targets: Array(targets[span]), lossMask: lossMask.map { Array($0[span]) },
                                            scale: scale, normalizer: normalizer, computeGradient: gradient)
            if gradient { replica.backward(dLogits: replica.logits.baseAddress!) }
            return loss
        }
        let losses = gradient ? accumulateGradients(shards: shards.count, adding: adding, shardLoss)
                              : stream(shards: shards.count, shardLoss)
        return losses.reduce(0, +)   // in shard order
    }
}
