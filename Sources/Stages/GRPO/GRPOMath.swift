import Foundation

/// The baseline a completion's reward is compared with inside its group of G completions of one prompt.
public enum GroupAdvantage: String, Sendable, CaseIterable {
    /// `r_i − mean(r_group)` (GRPO; OpenRLHF `group_norm`, `dr_grpo`).
    case grpo
    /// `r_i − mean(r_group without r_i)` (RLOO, Ahmadian et al. 2024; OpenRLHF `rloo`).
    case rloo
}

/// What the centred rewards are divided by (TRL `scale_rewards`), always `std + 1e-4`.
public enum RewardScaling: String, Sendable, CaseIterable {
    /// The group's standard deviation (GRPO as published).
    case group
    /// The whole generation batch's standard deviation.
    case batch
    /// Nothing (Dr. GRPO's recommendation; RLOO as in TRL and OpenRLHF).
    case none
}

/// How the summed per-token losses are normalised (TRL `loss_type`).
public enum GRPOLossType: String, Sendable, CaseIterable {
    /// Mean over tokens within each sequence, then over sequences (length-biased, as the DeepSeekMath paper).
    case grpo
    /// Sum over all tokens divided by rows × max completion length (a constant: Dr. GRPO).
    case drGRPO = "dr_grpo"
    /// Sum over all tokens divided by the number of active tokens in the batch (DAPO; TRL's default).
    case dapo
}

/// The pure numerics of GRPO and RLOO over flat Float arrays: group-relative advantages and the
/// token-level clipped surrogate with a k3 KL term. Token arrays are row-major `[rows × T]` with a mask of
/// the same shape (1 = a real completion token); rows come in consecutive groups of G completions of one
/// prompt. Sums accumulate in Double.
public enum GRPOMath {
    /// Added to the standard deviation before dividing, as TRL.
    public static let stdEpsilon = 1e-4

    public struct Advantages: Sendable {
        /// One advantage per row.
        public var advantages: [Float]
        /// Mean and standard deviation (Bessel-corrected) of the rewards over the batch.
        public var rewardMean: Double
        public var rewardStd: Double
        /// Fraction of rows whose group's rewards all agree (std ≈ 0): they carry no learning signal
        /// under either baseline.
        public var fractionZeroStd: Double
    }

    /// Unbiased standard deviation, as TRL's `nanstd` (Bessel's correction; NaN below 2 values).
    public static func sampleStd(_ xs: ArraySlice<Float>) -> Double {
        let n = Double(xs.count)
        guard xs.count > 1 else { return .nan }
        var sum = 0.0
        for x in xs { sum += Double(x) }
        let mean = sum / n
        var sq = 0.0
        for x in xs { let d = Double(x) - mean; sq += d * d }
        return (sq / n * (n / (n - 1))).squareRoot()
    }

    /// Advantages of `rewards` (one per row, groups of `groupSize` consecutive rows).
    public static func advantages(rewards: [Float], groupSize g: Int, baseline: GroupAdvantage,
                                  scaling: RewardScaling) -> Advantages
    {
        precondition(g >= 2 && rewards.count % g == 0, "GRPOMath.advantages: \(rewards.count) rewards in groups of \(g)")
        let groups = rewards.count / g
        let batchStd = sampleStd(rewards[...])
        var sum = 0.0
        for r in rewards { sum += Double(r) }
        var advantages = [Float](repeating: 0, count: rewards.count)
        var zero = 0
        for group in 0..<groups {
            let range = (group * g)..<((group + 1) * g)
            var groupSum = 0.0
            for i in range { groupSum += Double(rewards[i]) }
            let groupStd = sampleStd(rewards[range])
            // torch.isclose(std, 0) with its default tolerances.
            if abs(groupStd) <= 1e-8 { zero += g }
            let divisor: Double
            switch scaling {
            case .group: divisor = groupStd + stdEpsilon
            case .batch: divisor = batchStd + stdEpsilon
            case .none: divisor = 1
            }
            for i in range {
                let r = Double(rewards[i])
                let base: Double
                switch baseline {
                case .grpo: base = groupSum / Double(g)
                case .rloo: base = (groupSum - r) / Double(g - 1)
                }
                advantages[i] = Float((r - base) / divisor)
            }
        }
        return Advantages(advantages: advantages, rewardMean: sum / Double(rewards.count), rewardStd: batchStd,
                          fractionZeroStd: Double(zero) / Double(rewards.count))
    }

    /// The loss of one optimiser step and what was measured on the way.
    public struct Loss: Sendable {
        /// Normalised sum of the per-token losses `−min(ρA, clip(ρ, 1−ε_low, 1+ε_high)A) + β·k3`.
        public var loss: Double
        /// ∂loss/∂logπ_θ per token (0 at padding and where the clipped branch is active).
        public var gradient: [Float]
        /// Masked mean over active tokens of the k3 KL to the reference (nil without one).
        public var kl: Double?
        /// Fractions of active tokens clipped below (ρ < 1−ε_low, A < 0), above (ρ > 1+ε_high, A > 0), either.
        public var clipLow: Double, clipHigh: Double, clipRegion: Double
        /// Active tokens in the batch.
        public var activeTokens: Double
    }

    /// - Parameters:
    ///   - logp: log π_θ of the completion tokens, `[rows × T]`.
    ///   - oldLogp: log π_old (the sampling policy); equal to `logp` with one iteration, so ρ = 1.
    ///   - refLogp: log π_ref, needed exactly when `beta` > 0.
    ///   - advantages: one per row.
    ///   - maxCompletionLength: the constant of `dr_grpo` (the response length).
    public static func loss(logp: [Float], oldLogp: [Float], refLogp: [Float]?, advantages: [Float], mask: [Float],
                            length T: Int, lossType: GRPOLossType, epsilonLow: Float, epsilonHigh: Float,
                            beta: Float, maxCompletionLength: Int) -> Loss
    {
        let rows = advantages.count
        precondition(logp.count == rows * T && oldLogp.count == logp.count && mask.count == logp.count,
                     "GRPOMath.loss: token arrays must have rows × T = \(rows * T) entries")
        precondition(beta == 0 || refLogp?.count == logp.count, "GRPOMath.loss: beta > 0 needs reference log-probs")
        var active = 0.0
        var perRow = [Double](repeating: 0, count: rows)
        for row in 0..<rows {
            for t in 0..<T where mask[row * T + t] > 0 { perRow[row] += Double(mask[row * T + t]) }
            active += perRow[row]
        }
        // The weight of one token's loss in the normalised sum, by row.
        func weight(row: Int) -> Double {
            switch lossType {
            case .grpo: return 1 / (Double(rows) * max(perRow[row], 1))
            case .drGRPO: return 1 / (Double(rows) * Double(maxCompletionLength))
            case .dapo: return 1 / max(active, 1)
            }
        }
        let low = 1 - Double(epsilonLow), high = 1 + Double(epsilonHigh), b = Double(beta)
        var loss = 0.0, klSum = 0.0, clipLow = 0.0, clipHigh = 0.0
        var gradient = [Float](repeating: 0, count: logp.count)
        for row in 0..<rows {
            let w = weight(row: row), a = Double(advantages[row])
            for t in 0..<T {
                let i = row * T + t
                let m = Double(mask[i])
                guard m > 0 else { continue }
                let ratio = Foundation.exp(Double(logp[i]) - Double(oldLogp[i]))
                let clipped = min(max(ratio, low), high)
                let unclippedTerm = ratio * a, clippedTerm = clipped * a
                var tokenLoss: Double, dTokenLoss: Double
                if clippedTerm < unclippedTerm {
                    tokenLoss = -clippedTerm; dTokenLoss = 0   // the clipped branch is constant in θ
                } else {
                    tokenLoss = -unclippedTerm; dTokenLoss = -unclippedTerm   // d(−ρA)/dlogp = −ρA
                }
                if ratio < low && a < 0 { clipLow += m }
                if ratio > high && a > 0 { clipHigh += m }
                if b > 0, let refLogp {
                    let d = Double(refLogp[i]) - Double(logp[i])
                    let e = Foundation.exp(d)
                    let kl = e - d - 1
                    klSum += kl * m
                    tokenLoss += b * kl
                    dTokenLoss += b * (1 - e)   // d(e^{ref−logp} − (ref−logp) − 1)/dlogp
                }
                loss += w * m * tokenLoss
                gradient[i] = Float(w * m * dTokenLoss)
            }
        }
        let n = max(active, 1)
        return Loss(loss: loss, gradient: gradient, kl: beta > 0 ? klSum / n : nil, clipLow: clipLow / n,
                    clipHigh: clipHigh / n, clipRegion: (clipLow + clipHigh) / n, activeTokens: active)
    }
}
