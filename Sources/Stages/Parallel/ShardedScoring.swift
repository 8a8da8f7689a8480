import Models
import Tensor

extension ModelReplicas {
    /// `ResponseScoring.score` over the rows of `qr` in row shards, in parallel; the scores come back
    /// in row order, as one pass would give them. With `forBackward`, the shards are those of
    /// `RowShards.training(rows:)` and shard i stays on replica i for `backwardResponses` on the same
    /// batch; without, `RowShards.trainingRows`-row shards stream through the workers' replicas
    /// (scoring a whole rollout).
    public func scoreResponses(_ qr: QueryResponseBatch, temperature: Float, entropy: Bool,
                               forBackward: Bool = false) -> ResponseScoring.Scores {
        let shards = forBackward ? RowShards.training(rows: qr.batch.batch)
                                 : RowShards.ranges(rows: qr.batch.batch, size: RowShards.trainingRows)
        func score(_ shard: Int, _ replica: GPTModel) -> ResponseScoring.Scores {
            ResponseScoring.score(replica, qr.rows(Array(shards[shard])), temperature: temperature, entropy: entropy)
        }
        let parts = forBackward ? map(shards: shards.count, score) : stream(shards: shards.count, score)
        return ResponseScoring.Scores(logp: parts.flatMap(\.logp),
                                      entropy: entropy ? parts.flatMap { $0.entropy ?? [] } : nil,
                                      values: model.config.valueHead ? parts.flatMap { $0.values ?? [] } : nil)
    }

    /// `ResponseScoring.backward` of ∂L/∂logp and ∂L/∂V ([B × R], row order) through the last
    /// `scoreResponses(qr, …, forBackward: true)`; the model's gradients become the shards' sum.
    public func backwardResponses(_ qr: QueryResponseBatch, temperature: Float, dLogp: [Float], dValues: [Float]?) {
        let shards = RowShards.training(rows: qr.batch.batch), r = qr.responseLength
        precondition(dLogp.count == qr.batch.batch * r && (dValues == nil || dValues!.count == dLogp.count),
                     "backwardResponses: gradients must have B × R = \(qr.batch.batch * r) entries")
        accumulateGradients(shards: shards.count) { shard, replica in
            let rows = shards[shard], span = (rows.lowerBound * r)..<(rows.upperBound * r)
            ResponseScoring.backward(replica, qr.rows(Array(rows)), temperature: temperature, dLogp: Array(dLogp[span]),
                                     dValues: dValues.map { Array($0[span]) })
        }
    }

    /// Reward-head scores at each row's last real token of `batch`, in row shards, in parallel.
    public func rewards(_ batch: TokenBatch) -> [Float] {
        let shards = RowShards.ranges(rows: batch.batch, size: RowShards.trainingRows)
        let t = batch.time
        return stream(shards: shards.count) { shard, replica in
            let span = (shards[shard].lowerBound * t)..<(shards[shard].upperBound * t)
            replica.forward(TokenBatch(tokens: Array(batch.tokens[span]), batch: shards[shard].count, time: t,
                                       attentionMask: batch.attentionMask.map { Array($0[span]) },
                                       positions: batch.positions.map { Array($0[span]) }),
                            computeLogits: false)
            return Array(replica.rewards)
        }.flatMap { $0 }
    }
}
