import Foundation

/// Progress reporting with an ETA from the mean step time so far (display only, never in an artifact).
public struct ProgressClock {
    let start = Date()
    public init() {}

    public func eta(step: Int, total: Int) -> String {
        guard step > 0 else { return "eta ?" }
        return "eta " + Self.duration(elapsed / Double(step) * Double(total - step))
    }

    public var elapsed: Double { Date().timeIntervalSince(start) }

    /// Human-readable "12m 03s".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m \(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
