import Foundation

/// The DPO family of losses on per-sequence completion log-probs (TRL's `DPOTrainer` definitions).
///
/// With Δ = (log π(y⁺|x) − log π_ref(y⁺|x)) − (log π(y⁻|x) − log π_ref(y⁻|x)), log-probs summed over the
/// completion tokens, and x = β·Δ:
/// - `sigmoid`      −log σ(x)                                      (DPO)
/// - `hinge`        max(0, 1 − x)                                   (SLiC)
/// - `robust`       [−(1−ε) log σ(x) + ε log σ(−x)] / (1 − 2ε)     (rDPO, ε = label_smoothing)
/// - `ipo`          (Δ̄ − 1/(2β))²  with Δ̄ the per-token mean log-ratio difference (IPO as TRL normalises it)
/// - `sigmoid_norm` −log σ(β·Δ̄)                                    (length-normalised, SimPO-style)
/// averaged over pairs, plus `sftWeight` × TRL's `sft` loss: the chosen completions' mean token NLL,
/// −Σ log π(y⁺|x) / Σ |y⁺| over the batch (RPO; TRL's `loss_type: [sigmoid, sft]` with `loss_weights`),
/// which keeps the chosen completions likely while the margin grows. The gradient is returned per
/// sequence; every completion token of a sequence gets its sequence's gradient (the sum's derivative).
public enum DPOLoss {
    public enum Kind: String, CaseIterable, Sendable {
        case sigmoid, hinge, robust, ipo
        case sigmoidNorm = "sigmoid_norm"
    }

    /// One pair's summed completion log-probs and completion token counts.
    public struct Pair: Sendable, Equatable {
        public var policyChosen: Double, policyRejected: Double
        public var referenceChosen: Double, referenceRejected: Double
        public var chosenTokens: Int, rejectedTokens: Int
        public init(policyChosen: Double, policyRejected: Double, referenceChosen: Double, referenceRejected: Double,
                    chosenTokens: Int, rejectedTokens: Int) {
            self.policyChosen = policyChosen; self.policyRejected = policyRejected
            self.referenceChosen = referenceChosen; self.referenceRejected = referenceRejected
            self.chosenTokens = chosenTokens; self.rejectedTokens = rejectedTokens
        }
    }

    public struct Result: Sendable {
        public var loss: Double
        /// ∂loss/∂(Σ log π over the chosen / rejected completion), per pair.
        public var gradChosen: [Double]
        public var gradRejected: [Double]
        /// TRL's metrics: implicit rewards β·log-ratio, their margin and accuracy, mean policy log-probs.
        public var metrics: [(String, Double)]
    }

    static func logSigmoid(_ x: Double) -> Double { x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x)) }
    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }

    public static func evaluate(_ pairs: [Pair], kind: Kind, beta: Double, labelSmoothing: Double = 0,
                                sftWeight: Double = 0) -> Result {
        precondition(!pairs.isEmpty && beta > 0)
        let n = Double(pairs.count)
        let chosenTokens = Double(max(1, pairs.reduce(0) { $0 + $1.chosenTokens }))
        var loss = 0.0
        var gradChosen = [Double](repeating: 0, count: pairs.count), gradRejected = gradChosen
        var rewardChosen = 0.0, rewardRejected = 0.0, correct = 0.0, logpChosen = 0.0, logpRejected = 0.0
        for (i, p) in pairs.enumerated() {
            let chosenRatio = p.policyChosen - p.referenceChosen, rejectedRatio = p.policyRejected - p.referenceRejected
            let nc = Double(max(1, p.chosenTokens)), nr = Double(max(1, p.rejectedTokens))
            let delta = chosenRatio - rejectedRatio
            // (∂loss/∂Δ-like quantity, its scale per chosen token sum, per rejected token sum)
            var l = 0.0, dChosen = 0.0, dRejected = 0.0
            switch kind {
            case .sigmoid:
                let x = beta * delta
                l = -logSigmoid(x)
                let g = -sigmoid(-x) * beta
                dChosen = g; dRejected = -g
            case .hinge:
                let x = beta * delta
                l = max(0, 1 - x)
                let g = x < 1 ? -beta : 0
                dChosen = g; dRejected = -g
            case .robust:
                let x = beta * delta, e = labelSmoothing
                l = (-(1 - e) * logSigmoid(x) + e * logSigmoid(-x)) / (1 - 2 * e)
                let g = (-(1 - e) * sigmoid(-x) - e * sigmoid(x)) / (1 - 2 * e) * beta
                dChosen = g; dRejected = -g
            case .ipo:
                let average = chosenRatio / nc - rejectedRatio / nr
                let d = average - 1 / (2 * beta)
                l = d * d
                dChosen = 2 * d / nc; dRejected = -2 * d / nr
            case .sigmoidNorm:
                let x = beta * (chosenRatio / nc - rejectedRatio / nr)
                l = -logSigmoid(x)
                let g = -sigmoid(-x) * beta
                dChosen = g / nc; dRejected = -g / nr
            }
            loss += l
            gradChosen[i] = sftWeight > 0 ? dChosen / n - sftWeight / chosenTokens : dChosen / n
            gradRejected[i] = dRejected / n
            rewardChosen += beta * chosenRatio
            rewardRejected += beta * rejectedRatio
            if beta * chosenRatio > beta * rejectedRatio { correct += 1 }
            logpChosen += p.policyChosen
            logpRejected += p.policyRejected
        }
        // The sft term only when asked for: 0 × an overflowed NLL would be NaN.
        let nll = -logpChosen / chosenTokens
        let total = sftWeight > 0 ? loss / n + sftWeight * nll : loss / n
        var metrics: [(String, Double)] = [
            ("loss", total),
            ("rewards/chosen", rewardChosen / n), ("rewards/rejected", rewardRejected / n),
            ("rewards/margins", (rewardChosen - rewardRejected) / n), ("rewards/accuracies", correct / n),
            ("logps/chosen", logpChosen / n), ("logps/rejected", logpRejected / n),
        ]
        if sftWeight > 0 { metrics.append(("nll_loss", nll)) }
        return Result(loss: total, gradChosen: gradChosen, gradRejected: gradRejected, metrics: metrics)
    }
}
