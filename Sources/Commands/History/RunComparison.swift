import Engine
import Foundation
import Store

/// Two runs side by side (`pipe diff`): params, stage keys and outputs, metrics.
struct RunComparison {
    struct Row {
        var section: String
        var name: String
        var a: String?
        var b: String?
        /// Whether the entries count as equal when the texts carry more than the compared value.
        var same: Bool?
        /// Metrics: the values, for the change B − A.
        var valueA: Double?
        var valueB: Double?

        var changed: Bool { same.map { !$0 } ?? (a != b) }
    }

    static let sections = ["params", "stages", "metrics"]
    /// Longer values are printed below their section's table, so one long list does not widen every row.
    static let maxCellWidth = 40

    let rows: [Row]

    init(rows: [Row]) { self.rows = rows }

    init(_ a: RunDetails, _ b: RunDetails, registry: RunRegistry, store: ArtifactStore) {
        var rows: [Row] = []
        let stageOrder = Self.union(a.stages.map(\.stage), b.stages.map(\.stage))
        let paramsA = Self.params(a.run.params), paramsB = Self.params(b.run.params)
        for stage in Self.union(stageOrder, Self.union(paramsA.map(\.stage), paramsB.map(\.stage))) {
            let names = Self.union(paramsA.filter { $0.stage == stage }.map(\.name), paramsB.filter { $0.stage == stage }.map(\.name))
            for name in names.sorted(by: { $0.utf8Precedes($1) }) {
                rows.append(Row(section: "params", name: "\(stage).\(name)",
                                a: paramsA.first { $0.stage == stage && $0.name == name }?.value,
                                b: paramsB.first { $0.stage == stage && $0.name == name }?.value))
            }
        }
        for stage in stageOrder {
            let ea = a.stages.first { $0.stage == stage }, eb = b.stages.first { $0.stage == stage }
            // A stage cached in one run and ran in the other is the same result when the keys agree.
            rows.append(Row(section: "stages", name: "\(stage) key", a: ea.map { Self.keyText($0) }, b: eb.map { Self.keyText($0) },
                            same: ea?.key == eb?.key))
            for output in Self.union((ea?.outputs.keys).map { Array($0) } ?? [], (eb?.outputs.keys).map { Array($0) } ?? []).sorted(by: { $0.utf8Precedes($1) }) {
                rows.append(Row(section: "stages", name: "\(stage).\(output)", a: ea?.outputs[output]?.short, b: eb?.outputs[output]?.short))
            }
        }
        let metricsA = RunMetrics.load(a, registry: registry, store: store).summary
        let metricsB = RunMetrics.load(b, registry: registry, store: store).summary
        for stage in Self.union(stageOrder, Self.union(Array(metricsA.keys).sorted(), Array(metricsB.keys).sorted())) {
            let names = Self.union(Array(metricsA[stage]?.keys ?? [:].keys), Array(metricsB[stage]?.keys ?? [:].keys))
            for name in names.sorted(by: { $0.utf8Precedes($1) }) {
                let va = metricsA[stage]?[name], vb = metricsB[stage]?[name]
                // Compared as numbers: two values that print alike may still differ.
                let same = va == vb || (va?.isNaN == true && vb?.isNaN == true)
                rows.append(Row(section: "metrics", name: "\(stage).\(name)", a: va.map(MetricFormat.value), b: vb.map(MetricFormat.value),
                                same: same, valueA: va, valueB: vb))
            }
        }
        self.rows = rows
    }

    /// The comparison as text: one table per section whose columns fit its values. Without `all`,
    /// only the entries that differ (or that only one run has).
    func text(all: Bool, colour: Bool) -> String {
        var out = ""
        for section in Self.sections {
            let shown = rows.filter { $0.section == section && (all || $0.changed) }
            guard !shown.isEmpty else { continue }
            let isMetrics = section == "metrics"
            var header = [section.uppercased(), "A", "B"]
            if isMetrics { header += ["B − A", "relative"] }
            if all { header.append("") }
            var table: [[String]] = []
            var long: [Row] = []
            for row in shown {
                let tooLong = (row.a?.count ?? 0) > Self.maxCellWidth || (row.b?.count ?? 0) > Self.maxCellWidth
                if tooLong { long.append(row) }
                var cells = ["  " + row.name, tooLong ? "(below)" : row.a ?? "-", tooLong ? "(below)" : row.b ?? "-"]
                if isMetrics {
                    let change = row.changed ? Self.change(row.valueA, row.valueB) : (absolute: "", relative: "")
                    cells += [change.absolute, change.relative]
                }
                if all { cells.append(row.changed ? "*" : "") }
                table.append(cells)
            }
            out += TextTable.render(header: header, rows: table, colour: colour, highlight: { r, _ in all && shown[r].changed })
            for row in long {
                out += "  \(row.name):\n    A  \(row.a ?? "-")\n    B  \(row.b ?? "-")\n"
            }
            out += "\n"
        }
        let changed = rows.filter(\.changed).count
        if changed == 0 {
            out += "no differences (\(rows.count) entr\(rows.count == 1 ? "y" : "ies") compared)\n"
        } else {
            out += "\(changed) of \(rows.count) entr\(rows.count == 1 ? "y" : "ies") differ\(changed == 1 ? "s" : "")"
                + (all ? "\n" : " (--all shows every entry)\n")
        }
        return out
    }

    /// B − A with its sign, and relative to |A| when A is not zero.
    static func change(_ a: Double?, _ b: Double?) -> (absolute: String, relative: String) {
        guard let a, let b, a.isFinite, b.isFinite else { return ("", "") }
        let delta = b - a
        let absolute = (delta > 0 ? "+" : "") + MetricFormat.value(delta)
        guard a != 0 else { return (absolute, "") }
        return (absolute, String(format: "%+.1f%%", delta / abs(a) * 100))
    }

    static func keyText(_ execution: StageExecution) -> String {
        (execution.key.isEmpty ? "-" : String(execution.key.prefix(12))) + " " + execution.outcome.rawValue
    }

    /// Runs record params as `{stage: {param: value}}`.
    static func params(_ value: JSONValue) -> [(stage: String, name: String, value: String)] {
        guard case .object(let stages) = value else { return [] }
        var result: [(stage: String, name: String, value: String)] = []
        for stage in stages.keys.sorted(by: { $0.utf8Precedes($1) }) {
            guard case .object(let params) = stages[stage]! else { continue }
            for name in params.keys.sorted(by: { $0.utf8Precedes($1) }) {
                let text: String
                if case .string(let s) = params[name]! { text = s } else { text = params[name]!.yamlText }
                result.append((stage, name, text))
            }
        }
        return result
    }

    /// `first`, then the elements of `second` not in it, keeping order.
    static func union(_ first: [String], _ second: [String]) -> [String] {
        var seen = Set(first)
        return first + second.filter { seen.insert($0).inserted }
    }
}
