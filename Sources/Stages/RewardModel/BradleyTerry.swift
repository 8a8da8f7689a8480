import Foundation

/// Bradley–Terry pairwise reward-model loss, `−log σ(r_c − r_r − m)` averaged over pairs (m: the pair's
/// margin from the data, 0 without one, as Llama 2's and TRL's `margin` column), plus the optional
/// centring term `c·mean((r_c + r_r)²)` (TRL's `center_rewards_coefficient`; BT alone is shift-invariant).
public enum BradleyTerry {
    public struct Result: Sendable {
        public var loss: Double
        /// ∂loss/∂r_c and ∂loss/∂r_r per pair.
        public var gradChosen: [Float]
        public var gradRejected: [Float]
        /// Fraction of pairs with r_c > r_r (ties count as wrong, as `(chosen > rejected).mean()`).
        public var accuracy: Double
        /// mean(r_c − r_r).
        public var margin: Double
    }

    /// `log(1 + e^x)` without overflow.
    static func softplus(_ x: Double) -> Double { x > 0 ? x + Foundation.log1p(Foundation.exp(-x)) : Foundation.log1p(Foundation.exp(x)) }
    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x)) }

    public static func evaluate(chosen: [Float], rejected: [Float], margins: [Double]? = nil, centring: Double = 0) -> Result {
        precondition(chosen.count == rejected.count && !chosen.isEmpty)
        let n = Double(chosen.count)
        var loss = 0.0, correct = 0.0, margin = 0.0, centre = 0.0
        var gc = [Float](repeating: 0, count: chosen.count)
        var gr = [Float](repeating: 0, count: chosen.count)
        for i in chosen.indices {
            let d = Double(chosen[i]) - Double(rejected[i])
            let dm = d - (margins?[i] ?? 0)
            loss += softplus(-dm)                 // −log σ(d − m)
            let g = -sigmoid(-dm) / n              // ∂/∂d of −log σ(d − m) = σ(d − m) − 1 = −σ(m − d)
            let s = Double(chosen[i]) + Double(rejected[i])
            centre += s * s
            let gCentre = centring * 2 * s / n
            gc[i] = Float(g + gCentre)
            gr[i] = Float(-g + gCentre)
            if d > 0 { correct += 1 }
            margin += d
        }
        return Result(loss: loss / n + centring * centre / n, gradChosen: gc, gradRejected: gr,
                      accuracy: correct / n, margin: margin / n)
    }
}
