/// The pauses between attempts of an HTTP request: `first` seconds before the first retry, doubling,
/// capped at `cap` (`retries` goes up to 20 in pipe.config.yaml: uncapped, the last pause would be
/// 0.2 s × 2¹⁹, 29 hours). Computed in floating point with the exponent bounded, so no retry number
/// overflows or gives an infinite or negative pause.
public struct BackoffSchedule: Sendable, Equatable {
    public var first: Double
    public var cap: Double

    public static let defaultCap = 30.0

    public init(first: Double, cap: Double = BackoffSchedule.defaultCap) {
        self.first = first.isFinite ? max(0, first) : 0
        self.cap = cap.isFinite ? max(0, cap) : Self.defaultCap
    }

    /// Seconds to wait before retry `retry` (1 for the first retry); 0 for `retry` < 1.
    public func delay(beforeRetry retry: Int) -> Double {
        guard retry >= 1 else { return 0 }
        // 2^62 already exceeds any cap divided by any positive first pause that is not subnormal.
        let doublings = min(retry - 1, 62)
        return min(cap, first * Double(sign: .plus, exponent: doublings, significand: 1))
    }
}
