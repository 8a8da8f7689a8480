import Foundation

/// A baseline and a trained model's evaluation values side by side: entries named `sft.reward` and
/// `ppo.reward` (or `sft/reward`, `ppo/reward`) become one row `reward | sft | ppo | ppo − sft`.
/// Entries outside the pair stay as they are.
struct SideBySide {
    struct Row: Equatable {
        var metric: String
        var baseline: String
        var trained: String
        /// trained − baseline with its sign, when both are numbers.
        var difference: String
    }

    /// The groups' names as written (`sft`, `ppo`).
    var baseline: String
    var trained: String
    var rows: [Row]
    /// Entries that are not part of the pair, in their order.
    var rest: [(key: String, value: String)]

    /// Group names that mean "the model before training"; the first one present is the baseline.
    static let baselineNames = ["sft", "baseline", "base", "reference", "ref", "before"]
    /// Preferred partners for the baseline; otherwise the first group sharing a metric with it.
    static let trainedNames = ["ppo", "policy", "trained", "dpo", "grpo", "rloo", "rl", "after"]

    /// Pairs the entries, or nil when there is no baseline group with a partner sharing a metric.
    /// A key is split at its first `.` or `/` into group and metric.
    static func pair(_ entries: [(key: String, value: String)]) -> SideBySide? {
        var groups: [String] = []
        var members: [String: [(metric: String, value: String)]] = [:]
        for entry in entries {
            guard let cut = entry.key.firstIndex(where: { $0 == "." || $0 == "/" }) else { continue }
            let group = String(entry.key[..<cut]), metric = String(entry.key[entry.key.index(after: cut)...])
            if members[group] == nil { groups.append(group) }
            members[group, default: []].append((metric, entry.value))
        }
        guard let baseline = groups.first(where: { baselineNames.contains($0.lowercased()) }) else { return nil }
        let baselineMetrics = Set(members[baseline]!.map(\.metric))
        let partners = groups.filter { $0 != baseline && members[$0]!.contains { baselineMetrics.contains($0.metric) } }
        guard let trained = partners.first(where: { trainedNames.contains($0.lowercased()) }) ?? partners.first else { return nil }

        var metricOrder = members[baseline]!.map(\.metric)
        for (metric, _) in members[trained]! where !metricOrder.contains(metric) { metricOrder.append(metric) }
        let rows = metricOrder.map { metric in
            let a = members[baseline]!.first { $0.metric == metric }?.value
            let b = members[trained]!.first { $0.metric == metric }?.value
            return Row(metric: metric, baseline: a ?? "-", trained: b ?? "-", difference: difference(a, b))
        }
        let rest = entries.filter { entry in
            guard let cut = entry.key.firstIndex(where: { $0 == "." || $0 == "/" }) else { return true }
            let group = String(entry.key[..<cut])
            return group != baseline && group != trained
        }
        return SideBySide(baseline: baseline, trained: trained, rows: rows, rest: rest)
    }

    /// `b − a` with its sign (`+0.25`, `-1.5`, `0`); empty unless both are finite numbers.
    static func difference(_ a: String?, _ b: String?) -> String {
        guard let a = a.flatMap(Double.init), let b = b.flatMap(Double.init), a.isFinite, b.isFinite else { return "" }
        let delta = b - a
        return (delta > 0 ? "+" : "") + MetricFormat.value(delta)
    }
}
