import Models

/// Held-out quality of a reward model on preference pairs.
public struct PairEvaluation: Sendable {
    public var accuracy: Double
    public var margin: Double
    public var loss: Double
    public var meanChosen: Double
    public var meanRejected: Double
    public var pairs: Int
}

/// A reward model's scores of preference pairs: chosen and rejected sequences of a batch go through the
/// model as one right-padded batch; the head reads each row's last real token.
public enum PairScoring {
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

    /// Scores of the chosen and rejected sequences of `pairs` (one forward pass).
    public static func rewards(_ model: GPTModel, _ pairs: ArraySlice<PreferencePair>, pad: Int32) -> (chosen: [Float], rejected: [Float]) {
        model.forward(batch(pairs, pad: pad, maxLength: model.config.maxPositions), computeLogits: false)
        let r = Array(model.rewards)
        return (Array(r[0..<pairs.count]), Array(r[pairs.count...]))
    }

    /// Scores of every pair, in shards of `RowShards.trainingRows` pairs on the replicas' pool (the
    /// shards a training minibatch of up to 32 pairs has).
    public static func rewards(_ replicas: ModelReplicas, _ pairs: [PreferencePair], pad: Int32) -> (chosen: [Float], rejected: [Float]) {
        let shards = RowShards.ranges(rows: pairs.count, size: RowShards.trainingRows)
        let scores = replicas.stream(shards: shards.count) { shard, replica in
            rewards(replica, pairs[shards[shard]], pad: pad)
        }
        return (scores.flatMap(\.chosen), scores.flatMap(\.rejected))
    }

    /// Accuracy, margin and loss over `pairs`.
    public static func evaluate(_ replicas: ModelReplicas, _ pairs: [PreferencePair], pad: Int32) -> PairEvaluation {
        let (chosen, rejected) = rewards(replicas, pairs, pad: pad)
        let bt = BradleyTerry.evaluate(chosen: chosen, rejected: rejected)
        let mc = chosen.reduce(0.0) { $0 + Double($1) } / Double(chosen.count)
        let mr = rejected.reduce(0.0) { $0 + Double($1) } / Double(rejected.count)
        return PairEvaluation(accuracy: bt.accuracy, margin: bt.margin, loss: bt.loss, meanChosen: mc,
                              meanRejected: mr, pairs: pairs.count)
    }
}
