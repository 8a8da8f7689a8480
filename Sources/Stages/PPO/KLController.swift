/// The KL penalty coefficient β and how it moves between PPO steps (shared/notes/rlhf-ppo.md §1.3c).
public struct KLController: Sendable, Equatable, Codable {
    public enum Mode: String, Sendable, Codable { case adaptive, fixed }

    public var mode: Mode
    /// Current β.
    public var value: Double
    /// Target of the batch mean of per-response summed KL (nats); adaptive mode only.
    public var target: Double
    public var horizon: Double

    public static func adaptive(initial: Double, target: Double, horizon: Double) -> KLController {
        KLController(mode: .adaptive, value: initial, target: target, horizon: horizon)
    }

    public static func fixed(_ value: Double) -> KLController {
        KLController(mode: .fixed, value: value, target: 0, horizon: 1)
    }

    /// `β ← β·(1 + clip(KL/target − 1, ±0.2)·n/horizon)`, once per PPO step after the epochs, where
    /// `currentKL` is the batch mean of Σ_t kl_t and `steps` the number of responses in the batch.
    public mutating func update(currentKL: Double, steps: Int) {
        guard mode == .adaptive else { return }
        let proportionalError = min(max(currentKL / target - 1, -0.2), 0.2)
        value *= 1 + proportionalError * Double(steps) / horizon
    }
}
