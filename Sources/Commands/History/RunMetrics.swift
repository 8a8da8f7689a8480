import Engine
import Foundation
import Hashing
import Store

/// The metrics of one recorded run, per stage: the series reported while it ran and, for stages it
/// took from the cache, the series of the run that built that key (so a cached stage still has its
/// training curves), falling back to the summary in the stage record.
public struct RunMetrics: Sendable {
    /// Stage name → metric name → points in step order.
    public var series: [String: [String: [MetricPoint]]]
    /// Stage name → metric name → last value.
    public var summary: [String: [String: Double]]

    /// - Parameter followCached: look up the series of the run that built a cached stage (reports);
    ///   without it a cached stage only gets its record's summary (cheap, for listings).
    public static func load(_ details: RunDetails, registry: RunRegistry, store: ArtifactStore, followCached: Bool = true) -> RunMetrics {
        var series: [String: [String: [MetricPoint]]] = [:]
        var summary: [String: [String: Double]] = [:]
        for execution in details.stages {
            var points = details.metrics[execution.stage] ?? []
            if followCached, points.isEmpty, execution.outcome == .cached, !execution.key.isEmpty {
                points = builderSeries(key: execution.key, stage: execution.stage, registry: registry, exclude: details.run.id)
            }
            var byName: [String: [MetricPoint]] = [:]
            for point in points { byName[point.name, default: []].append(point) }
            for name in byName.keys { byName[name]!.sort { $0.step < $1.step } }
            if !byName.isEmpty { series[execution.stage] = byName }
            var last: [String: Double] = [:]
            for (name, points) in byName { if let value = points.last?.value { last[name] = value } }
            if last.isEmpty, let key = Digest(hex: execution.key), let record = store.record(forKey: key) {
                last = record.metrics
            }
            if !last.isEmpty { summary[execution.stage] = last }
        }
        return RunMetrics(series: series, summary: summary)
    }

    /// The series an earlier run recorded when it built `key` (as stage `stage`, or any name).
    static func builderSeries(key: String, stage: String, registry: RunRegistry, exclude: String) -> [MetricPoint] {
        guard let runs = try? registry.runIDs(withStageKey: key) else { return [] }
        for id in runs.reversed() where id != exclude {
            guard let details = try? registry.runDetails(id: id) else { continue }
            for execution in details.stages where execution.key == key && execution.outcome == .ran {
                if let points = details.metrics[execution.stage], !points.isEmpty { return points }
            }
        }
        return []
    }

    /// Flattened `stage.metric` → last value, sorted by name.
    public var flattened: [(name: String, value: Double)] {
        summary.keys.sorted { $0.utf8Precedes($1) }.flatMap { stage in
            summary[stage]!.keys.sorted { $0.utf8Precedes($1) }.map { ("\(stage).\($0)", summary[stage]![$0]!) }
        }
    }
}

/// A metric named on the command line or in `sweep: {metric: ...}`: `eval.reward`, `eval/reward`,
/// or a bare metric name found in whichever stage reports it.
public enum MetricReference {
    /// The value of `reference` in per-stage summaries; `stageOrder` breaks ties for bare names.
    public static func value(_ reference: String, in summary: [String: [String: Double]], stageOrder: [String]) -> Double? {
        for separator in [".", "/"] {
            if let cut = reference.firstIndex(of: Character(separator)) {
                let stage = String(reference[..<cut]), metric = String(reference[reference.index(after: cut)...])
                if let value = summary[stage]?[metric] { return value }
            }
        }
        for stage in stageOrder { if let value = summary[stage]?[reference] { return value } }
        return nil
    }

    /// Splits a reference into the stage and metric it designates, when the stage exists.
    public static func split(_ reference: String, stages: [String]) -> (stage: String, metric: String)? {
        for separator in [".", "/"] {
            if let cut = reference.firstIndex(of: Character(separator)), stages.contains(String(reference[..<cut])) {
                return (String(reference[..<cut]), String(reference[reference.index(after: cut)...]))
            }
        }
        return nil
    }
}

/// Numbers in tables: short, stable, and exact enough to tell runs apart.
enum MetricFormat {
    static func value(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        let magnitude = abs(value)
        if magnitude >= 1e-3 && magnitude < 1e6 {
            var text = String(format: "%.4f", value)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            return text
        }
        return String(format: "%.3e", value)
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}
