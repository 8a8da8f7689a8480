import Engine
import Foundation

extension RunSummary {
    /// `run 20261122-020455-3fa1 ok: 2 ran, 4 cached in 1.5s`
    public var line: String {
        var parts = ["\(ran) ran", "\(cached) cached"]
        if failed > 0 { parts.append("\(failed) failed") }
        if skipped > 0 { parts.append("\(skipped) skipped") }
        let verdict = interrupted ? "interrupted" : (failed > 0 ? "failed" : "ok")
        return "run \(runID) \(verdict): " + parts.joined(separator: ", ") + " in " + Format.seconds(seconds)
    }
}

/// Durations in tables and the live view: `12ms`, `3.2s`, `2m05s`.
enum Format {
    static func seconds(_ value: Double) -> String {
        if value < 1 { return "\(Int((value * 1000).rounded()))ms" }
        if value < 60 { return String(format: "%.1fs", value) }
        let minutes = Int(value) / 60
        return "\(minutes)m\(String(format: "%02d", Int(value) % 60))s"
    }
}
