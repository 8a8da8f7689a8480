import Foundation

/// One PPO rollout batch, flat row-major arrays: `rows` responses of `length` tokens each, produced by the
/// policy at rollout time (π_old) and scored by the reference and the reward model.
public struct Rollout: Sendable {
    public var rows: Int
    public var length: Int
    /// Left-padded query tokens per row and their real lengths.
    public var queries: [[Int32]]
    /// Sampled response tokens, `[rows × length]`.
    public var responses: [Int32]
    /// 1 for real response tokens, 0 for tokens after EOS truncation.
    public var mask: [Float]
    /// log π_old(a_t) (temperature applied), `[rows × length]`.
    public var logp: [Float]
    /// log π_ref(a_t).
    public var refLogp: [Float]
    /// V_old(s_t), at the position that emits a_t.
    public var values: [Float]
    /// Reward-model scores after scaling and the missing-EOS penalty, one per row.
    public var scores: [Float]
    /// Raw reward-model scores (for logging).
    public var rawScores: [Float]
    /// Whether each row contains an EOS (always false without truncation).
    public var hasEOS: [Bool]
}

/// Advantages, returns and the reward decomposition of one rollout.
public struct RolloutTargets: Sendable {
    public var rewards: [Float]
    public var kl: [Float]
    public var advantages: [Float]
    public var returns: [Float]

    /// Batch mean of per-response summed KL: what the adaptive controller and `objective/kl` use.
    public var meanSequenceKL: Double
    /// Batch mean of −β·Σkl.
    public var meanNonScoreReward: Double
}

public enum RolloutMath {
    public static func targets(_ r: Rollout, beta: Double, estimator: KLEstimator, gamma: Float, lambda: Float,
                               whiten: Bool) throws -> RolloutTargets
    {
        let (rewards, kl) = PPOMath.tokenRewards(logp: r.logp, refLogp: r.refLogp, mask: r.mask, scores: r.scores,
                                                 beta: Float(beta), estimator: estimator, length: r.length)
        var (advantages, returns) = PPOMath.gae(rewards: rewards, values: r.values, mask: r.mask, gamma: gamma,
                                                lambda: lambda, length: r.length)
        if whiten { advantages = try PPOMath.whiten(advantages, mask: r.mask) }
        var klSum = 0.0
        for v in kl { klSum += Double(v) }
        let meanKL = klSum / Double(r.rows)
        return RolloutTargets(rewards: rewards, kl: kl, advantages: advantages, returns: returns,
                              meanSequenceKL: meanKL, meanNonScoreReward: -beta * meanKL)
    }
}

/// Running means of the per-minibatch statistics of one PPO step (TRL's `*_avg` metrics).
public struct UpdateStatistics: Sendable {
    public var policyLoss = 0.0, valueLoss = 0.0, clipFraction = 0.0, valueClipFraction = 0.0
    public var approxKL = 0.0, meanRatio = 0.0
    public var minibatches = 0
    /// Pretraining-mix (PPO-ptx) cross-entropy, summed over the minibatches that had one.
    public var pretrainingLoss = 0.0, pretrainingBatches = 0
    public var epochsRun = 0
    public var earlyStopped = false

    public init() {}

    public mutating func add(policy: PPOMath.PolicyLoss, value: PPOMath.ValueLoss) {
        policyLoss += policy.loss; valueLoss += value.loss; clipFraction += policy.clipFraction
        valueClipFraction += value.clipFraction; approxKL += policy.approxKL; meanRatio += policy.meanRatio
        minibatches += 1
    }

    public var averages: [(String, Double)] {
        let n = Double(max(minibatches, 1))
        return [("loss/policy_avg", policyLoss / n), ("loss/value_avg", valueLoss / n),
                ("policy/clipfrac_avg", clipFraction / n), ("val/clipfrac_avg", valueClipFraction / n),
                ("policy/approxkl_avg", approxKL / n), ("val/ratio", meanRatio / n),
                ("ppo/epochs", Double(epochsRun)), ("ppo/early_stopped", earlyStopped ? 1 : 0)]
            + (pretrainingBatches > 0 ? [("loss/ptx_avg", pretrainingLoss / Double(pretrainingBatches))] : [])
    }
}
