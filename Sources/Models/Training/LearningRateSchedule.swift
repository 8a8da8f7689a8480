#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Linear warm-up from 0 to `peak` over `warmupSteps`, then cosine decay to `minimum` at `totalSteps`
/// (constant `minimum` afterwards). Step numbers are 0-based: the first update uses `rate(at: 0)`.
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    public var peak: Float
    public var minimum: Float
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Float, minimum: Float = 0, warmupSteps: Int = 0, totalSteps: Int) {
        self.peak = peak
        self.minimum = minimum
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// A constant rate.
    public static func constant(_ lr: Float) -> LearningRateSchedule {
        LearningRateSchedule(peak: lr, minimum: lr, warmupSteps: 0, totalSteps: 1)
    }

    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        if step >= totalSteps { return minimum }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        let cosine = 0.5 * (1 + cos(Double.pi * progress))
        return minimum + (peak - minimum) * Float(cosine)
    }
}
