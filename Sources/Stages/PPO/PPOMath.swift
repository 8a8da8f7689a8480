import Foundation

/// How the per-token KL between the sampling policy and the reference is estimated from the log-probs
/// of the sampled token (see shared/notes/rlhf-ppo.md §1.3b).
public enum KLEstimator: String, Sendable, CaseIterable {
    /// `logp − logp_ref`: unbiased, can be negative per token (old TRL, the seed).
    case k1
    /// `½(logp − logp_ref)²` (OpenRLHF, TRL v0.11 "mse").
    case k2
    /// `(ρ − 1) − log ρ`, `ρ = π_ref/π`: non-negative, "low variance" (TRL, trlX stat).
    case k3

    public func estimate(logp: Float, refLogp: Float) -> Float {
        let d = logp - refLogp
        switch self {
        case .k1: return d
        case .k2: return 0.5 * d * d
        case .k3:
            let logRatio = refLogp - logp
            return (Float(Foundation.exp(Double(logRatio))) - 1) - logRatio
        }
    }
}

/// The pure numerics of LM-PPO over flat Float arrays. Batches are row-major `[rows × T]` with a mask of
/// the same shape (1 = a real response token, 0 = padding after EOS truncation). Sums accumulate in
/// Double so results do not depend on summation order more than Float rounding allows.
public enum PPOMath {

    /// Per-token rewards `r_t = −β·kl_t`, with each row's score added on its last unmasked token.
    /// Returns the rewards and the per-token KL estimate actually used (zero at padding), so the logged KL
    /// is exactly the penalised one.
    public static func tokenRewards(logp: [Float], refLogp: [Float], mask: [Float], scores: [Float],
                                    beta: Float, estimator: KLEstimator, length T: Int)
        -> (rewards: [Float], kl: [Float])
    {
        precondition(logp.count == refLogp.count && logp.count == mask.count && logp.count == scores.count * T)
        var rewards = [Float](repeating: 0, count: logp.count)
        var kl = [Float](repeating: 0, count: logp.count)
        for row in 0..<scores.count {
            var last = -1
            for t in 0..<T {
                let i = row * T + t
                guard mask[i] > 0 else { continue }
                kl[i] = estimator.estimate(logp: logp[i], refLogp: refLogp[i])
                rewards[i] = -beta * kl[i]
                last = i
            }
            if last >= 0 { rewards[last] += scores[row] }
        }
        return (rewards, kl)
    }

    /// Generalised advantage estimation over the response tokens of each row (reverse loop, V_{T+1} = 0,
    /// padding contributes nothing): `δ_t = r_t + γV_{t+1} − V_t`, `A_t = δ_t + γλA_{t+1}`,
    /// `returns = A + V` (λ-returns, computed before any whitening).
    public static func gae(rewards: [Float], values: [Float], mask: [Float], gamma: Float, lambda: Float,
                           length T: Int) -> (advantages: [Float], returns: [Float])
    {
        precondition(rewards.count == values.count && rewards.count == mask.count && rewards.count % T == 0)
        var advantages = [Float](repeating: 0, count: rewards.count)
        var returns = [Float](repeating: 0, count: rewards.count)
        for row in 0..<(rewards.count / T) {
            var nextValue: Float = 0
            var nextAdvantage: Float = 0
            for t in stride(from: T - 1, through: 0, by: -1) {
                let i = row * T + t
                let m = mask[i]
                let v = values[i] * m
                let delta = rewards[i] * m + gamma * nextValue - v
                let a = (delta + gamma * lambda * nextAdvantage) * m
                advantages[i] = a
                returns[i] = a + v
                // Padding after the last real token keeps V_{t+1} = 0 and A_{t+1} = 0 for it.
                if m > 0 { nextValue = v; nextAdvantage = a }
            }
        }
        return (advantages, returns)
    }

    /// Masked mean and unbiased (Bessel-corrected) variance, as TRL's `masked_mean` / `masked_var`.
    public static func maskedMeanVariance(_ x: [Float], mask: [Float]) throws -> (mean: Double, variance: Double) {
        var n = 0.0, sum = 0.0
        for i in x.indices where mask[i] > 0 { n += Double(mask[i]); sum += Double(x[i]) * Double(mask[i]) }
        guard n > 1 else {
            throw StageError.failed("whitening needs at least 2 unmasked values, got \(Int(n)) (raise the batch or minibatch size)")
        }
        let mean = sum / n
        var sq = 0.0
        for i in x.indices where mask[i] > 0 { let d = Double(x[i]) - mean; sq += d * d * Double(mask[i]) }
        return (mean, sq / n * (n / (n - 1)))
    }

    /// `(x − mean)/sqrt(var + 1e-8)` over the unmasked values; `shiftMean: false` adds the mean back
    /// (TRL's reward whitening). Padding becomes 0.
    public static func whiten(_ x: [Float], mask: [Float], shiftMean: Bool = true) throws -> [Float] {
        let (mean, variance) = try maskedMeanVariance(x, mask: mask)
        let scale = 1 / (variance + 1e-8).squareRoot()
        return x.indices.map { i in
            guard mask[i] > 0 else { return 0 }
            var w = (Double(x[i]) - mean) * scale
            if !shiftMean { w += mean }
            return Float(w)
        }
    }

    /// Clipped policy loss and its gradient with respect to the new log-probs.
    public struct PolicyLoss: Sendable {
        /// `masked_mean(max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε)))`.
        public var loss: Double
        /// ∂loss/∂logπ_θ per token (0 at padding and where the clipped branch is active).
        public var gradient: [Float]
        /// Fraction of tokens where the clipped branch is strictly larger.
        public var clipFraction: Double
        /// `½·masked_mean((logπ_θ − logπ_old)²)` (TRL's approxkl).
        public var approxKL: Double
        /// `masked_mean(logπ_old − logπ_θ)` (TRL v0.11's policykl, used for early stopping).
        public var policyKL: Double
        /// Masked mean of the ratio ρ (should hover around 1).
        public var meanRatio: Double
    }

    public static func policyLoss(newLogp: [Float], oldLogp: [Float], advantages: [Float], mask: [Float],
                                  clipRange: Float) -> PolicyLoss
    {
        let n = max(mask.reduce(0.0) { $0 + Double($1) }, 1)
        var loss = 0.0, clipped = 0.0, approx = 0.0, policyKL = 0.0, ratioSum = 0.0
        var gradient = [Float](repeating: 0, count: newLogp.count)
        for i in newLogp.indices where mask[i] > 0 {
            let logRatio = Double(newLogp[i] - oldLogp[i])
            let ratio = Foundation.exp(logRatio)
            let a = Double(advantages[i])
            let unclipped = -a * ratio
            let clippedRatio = min(max(ratio, 1 - Double(clipRange)), 1 + Double(clipRange))
            let clippedLoss = -a * clippedRatio
            let m = Double(mask[i])
            if clippedLoss > unclipped {
                loss += clippedLoss * m
                clipped += m
                // The clipped branch is constant in θ.
            } else {
                loss += unclipped * m
                gradient[i] = Float(unclipped * m / n)   // d(−A·e^{logp−old})/dlogp = −A·ρ
            }
            approx += 0.5 * logRatio * logRatio * m
            policyKL += -logRatio * m
            ratioSum += ratio * m
        }
        return PolicyLoss(loss: loss / n, gradient: gradient, clipFraction: clipped / n, approxKL: approx / n,
                          policyKL: policyKL / n, meanRatio: ratioSum / n)
    }

    /// Clipped value loss `½·masked_mean(max((V − R)², (V_clip − R)²))` and its gradient in V.
    public struct ValueLoss: Sendable {
        public var loss: Double
        public var gradient: [Float]
        /// Fraction of tokens where the clipped error is strictly larger.
        public var clipFraction: Double
    }

    public static func valueLoss(newValues: [Float], oldValues: [Float], returns: [Float], mask: [Float],
                                 clipRange: Float) -> ValueLoss
    {
        let n = max(mask.reduce(0.0) { $0 + Double($1) }, 1)
        var loss = 0.0, clipped = 0.0
        var gradient = [Float](repeating: 0, count: newValues.count)
        for i in newValues.indices where mask[i] > 0 {
            let v = Double(newValues[i]), old = Double(oldValues[i]), r = Double(returns[i])
            let vClipped = old + min(max(v - old, -Double(clipRange)), Double(clipRange))
            let e1 = (v - r) * (v - r)
            let e2 = (vClipped - r) * (vClipped - r)
            let m = Double(mask[i])
            if e2 > e1 {
                loss += 0.5 * e2 * m
                clipped += m
                let inside = abs(v - old) < Double(clipRange)
                gradient[i] = inside ? Float((vClipped - r) * m / n) : 0
            } else {
                loss += 0.5 * e1 * m
                gradient[i] = Float((v - r) * m / n)
            }
        }
        return ValueLoss(loss: loss / n, gradient: gradient, clipFraction: clipped / n)
    }

    /// `1 − mean((V − R)²)/var(R)` over unmasked tokens (old TRL `ppo/val/var_explained`).
    public static func explainedVariance(values: [Float], returns: [Float], mask: [Float]) -> Double {
        guard let (_, varR) = try? maskedMeanVariance(returns, mask: mask), varR > 0 else { return 0 }
        var n = 0.0, sq = 0.0
        for i in values.indices where mask[i] > 0 {
            let d = Double(values[i] - returns[i]); sq += d * d; n += 1
        }
        return 1 - (sq / n) / varR
    }

    /// Entropy of the softmax of one row of logits: `logsumexp(z) − Σ softmax(z)·z`.
    public static func entropy(logits: UnsafeBufferPointer<Float>) -> Double {
        var maxZ = -Double.infinity
        for z in logits { maxZ = max(maxZ, Double(z)) }
        var sumExp = 0.0, weighted = 0.0
        for z in logits {
            let e = Foundation.exp(Double(z) - maxZ)
            sumExp += e; weighted += e * Double(z)
        }
        return (maxZ + Foundation.log(sumExp)) - weighted / sumExp
    }

    /// Response mask for EOS truncation: tokens up to and including the first `eos` count; later ones are
    /// padding. Also says whether the row contained an EOS at all (for the missing-EOS penalty).
    public static func truncationMask(responses: [Int32], eos: Int32, length T: Int) -> (mask: [Float], hasEOS: [Bool]) {
        var mask = [Float](repeating: 0, count: responses.count)
        var hasEOS = [Bool](repeating: false, count: responses.count / T)
        for row in 0..<(responses.count / T) {
            for t in 0..<T {
                mask[row * T + t] = 1
                if responses[row * T + t] == eos { hasEOS[row] = true; break }
            }
        }
        return (mask, hasEOS)
    }
}
