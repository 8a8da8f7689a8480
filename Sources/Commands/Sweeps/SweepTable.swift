import Engine
import Foundation
import Hashing
import Pipeline

/// The table printed at the end of a sweep (and by `pipe show --sweep`): one row per variant, the
/// swept params, the key metrics, best first by the ranking metric.
public struct SweepTable: Sendable {
    public struct Row: Sendable {
        public var variant: String
        public var runID: String
        public var status: String
        /// `stage.param` → value text, in axis order.
        public var params: [(target: String, value: String)]
        /// Stage → metric → last value.
        public var metrics: [String: [String: Double]]
    }

    public var rows: [Row]
    public var rankBy: String?
    public var maximize: Bool
    /// Stages in pipeline order (bare metric names resolve to the first stage reporting them).
    public var stageOrder: [String]
    /// Stages whose definition differs between variants: their metrics are the interesting ones.
    public var sweptStages: [String]

    public static let maxMetricColumns = 6

    /// Rows best first: by the ranking metric (missing values last), else in variant order.
    public var ranked: [Row] {
        guard let rankBy else { return rows }
        let indexed = rows.enumerated().map { ($0.offset, $0.element, MetricReference.value(rankBy, in: $0.element.metrics, stageOrder: stageOrder)) }
        return indexed.sorted { a, b in
            switch (a.2, b.2) {
            case let (x?, y?) where x != y: return maximize ? x > y : x < y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return a.0 < b.0
            }
        }.map(\.1)
    }

    /// `stage.metric` columns: the ranking metric, then the metrics of swept stages (pipeline order).
    public var metricColumns: [String] {
        var columns: [String] = []
        if let rankBy { columns.append(rankBy) }
        for stage in stageOrder where sweptStages.contains(stage) {
            var names = Set<String>()
            for row in rows { names.formUnion(row.metrics[stage]?.keys ?? [:].keys) }
            for name in names.sorted(by: { $0.utf8Precedes($1) }) {
                let column = "\(stage).\(name)"
                if columns.count >= Self.maxMetricColumns { break }
                if let rankBy, MetricReference.split(rankBy, stages: stageOrder).map({ "\($0.stage).\($0.metric)" }) == column { continue }
                if !columns.contains(column) { columns.append(column) }
            }
        }
        return columns
    }

    public func text(colour: Bool) -> String {
        let paramColumns = rows.first?.params.map(\.target) ?? []
        let metrics = metricColumns
        var header = ["#"] + paramColumns + metrics + ["run", "status"]
        if paramColumns.isEmpty { header.insert("variant", at: 1) }
        var body: [[String]] = []
        for (position, row) in ranked.enumerated() {
            var cells = [String(position + 1)]
            if paramColumns.isEmpty { cells.append(row.variant) }
            for target in paramColumns { cells.append(row.params.first { $0.target == target }?.value ?? "-") }
            for column in metrics {
                cells.append(MetricReference.value(column, in: row.metrics, stageOrder: stageOrder).map(MetricFormat.value) ?? "-")
            }
            cells += [row.runID, row.status]
            body.append(cells)
        }
        if let rankBy, rows.allSatisfy({ MetricReference.value(rankBy, in: $0.metrics, stageOrder: stageOrder) == nil }) {
            let known = Set(rows.flatMap { row in row.metrics.flatMap { stage, values in values.keys.map { "\(stage).\($0)" } } })
            var note = "note: no variant reported the ranking metric '\(rankBy)'"
            if let nearest = Suggestion.nearest(to: rankBy, in: known.sorted()) { note += " (did you mean '\(nearest)'?)" }
            return TextTable.render(header: header, rows: body, highlightFirstRow: false, colour: colour) + note + "\n"
        }
        return TextTable.render(header: header, rows: body, highlightFirstRow: rankBy != nil && !rows.isEmpty, colour: colour)
    }
}

/// Left-aligned text columns; numbers right-aligned.
enum TextTable {
    static func render(header: [String], rows: [[String]], highlightFirstRow: Bool = false, colour: Bool,
                       highlight: (Int, Int) -> Bool = { _, _ in false }) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String], rowIndex: Int?) -> String {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                let numeric = rowIndex != nil && Double(cell) != nil
                var text = numeric ? pad + cell : cell + pad
                if colour, let r = rowIndex, highlight(r, i) { text = ANSI.bold + ANSI.yellow + text + ANSI.reset }
                parts.append(text)
            }
            var joined = parts.joined(separator: "  ")
            while joined.hasSuffix(" ") { joined.removeLast() }
            return joined
        }
        var out = (colour ? ANSI.bold : "") + line(header, rowIndex: nil) + (colour ? ANSI.reset : "") + "\n"
        for (r, row) in rows.enumerated() {
            let text = line(row, rowIndex: r)
            out += (colour && highlightFirstRow && r == 0 ? ANSI.green + text + ANSI.reset : text) + "\n"
        }
        return out
    }
}

/// `pipe sweeps [SWEEP]`: recorded sweeps, or one sweep's ranked table rebuilt from the registry.
public enum SweepHistory {
    public static func list(store: String?, sweep reference: String?, limit: Int) -> Int32 {
        let stdout = TerminalOutput(fd: 1), stderr = TerminalOutput(fd: 2)
        guard let (artifactStore, registry) = HistoryCommands.open(store) else { return 2 }
        do {
            guard let reference else {
                let sweeps = try registry.listSweeps(limit: limit)
                if sweeps.isEmpty { stdout.write("no sweeps recorded yet\n"); return 0 }
                let rows = sweeps.map { sweep in
                    [sweep.id, String(sweep.members.count), sweep.rankBy ?? "-", StoreDate.text(sweep.startedAt),
                     RunPaths.display(sweep.pipelinePath)]
                }
                stdout.write(TextTable.render(header: ["SWEEP", "VARIANTS", "RANKED BY", "STARTED", "PIPELINE"], rows: rows,
                                              colour: HistoryCommands.useColour))
                return 0
            }
            let sweep = try registry.sweep(id: registry.resolveSweepID(reference))
            var rows: [SweepTable.Row] = []
            var stageOrder: [String] = []
            var keys: [String: Set<String>] = [:]
            for member in sweep.members {
                let details = try registry.runDetails(id: member.runID)
                if stageOrder.isEmpty { stageOrder = details.stages.map(\.stage) }
                for execution in details.stages { keys[execution.stage, default: []].insert(execution.key) }
                rows.append(SweepTable.Row(variant: member.variant, runID: member.runID, status: details.run.status.rawValue,
                                           params: member.overrides,
                                           metrics: RunMetrics.load(details, registry: registry, store: artifactStore, followCached: false).summary))
            }
            let table = SweepTable(rows: rows, rankBy: sweep.rankBy, maximize: sweep.maximize, stageOrder: stageOrder,
                                   sweptStages: stageOrder.filter { (keys[$0]?.count ?? 0) > 1 })
            var out = "sweep \(sweep.id) of \(RunPaths.display(sweep.pipelinePath)), \(StoreDate.text(sweep.startedAt))\n"
            out += sweep.rankBy.map { "ranked by \($0) (\(sweep.maximize ? "higher" : "lower") is better)\n" } ?? ""
            stdout.write(out + table.text(colour: HistoryCommands.useColour))
            return 0
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
    }
}
