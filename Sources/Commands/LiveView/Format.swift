import Engine
import Foundation

extension RunSummary {
    /// `run 20261122-020455-3fa1 ok: 2 ran, 4 cached in 1.5s`
    public var line: String {
        var parts = ["\(ran) ran", "\(cached) cached"]
        if pulled > 0 { parts.append("\(pulled) pulled") }
        if failed > 0 { parts.append("\(failed) failed") }
        if skipped > 0 { parts.append("\(skipped) skipped") }
        let verdict = interrupted ? "interrupted" : (failed > 0 ? "failed" : "ok")
        return "run \(runID) \(verdict): " + parts.joined(separator: ", ") + " in " + Format.seconds(seconds)
    }
}

/// Durations in tables and the live view: `12ms`, `3.2s`, `2m05s`.
public enum Format {
    public static func seconds(_ value: Double) -> String {
        if value < 1 { return "\(Int((value * 1000).rounded()))ms" }
        if value < 60 { return String(format: "%.1fs", value) }
        let minutes = Int(value) / 60
        return "\(minutes)m\(String(format: "%02d", Int(value) % 60))s"
    }

    /// Sizes in transfer summaries: `812 B`, `12.3 kB`, `98.2 MB`, `1.20 GB` (decimal units, like MB/s).
    public static func bytes(_ value: Int64) -> String {
        let amount = Double(value)
        if amount < 1000 { return "\(value) B" }
        if amount < 1e6 { return String(format: "%.1f kB", amount / 1e3) }
        if amount < 1e9 { return String(format: "%.1f MB", amount / 1e6) }
        return String(format: "%.2f GB", amount / 1e9)
    }
}
