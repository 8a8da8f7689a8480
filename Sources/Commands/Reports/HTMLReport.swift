import Engine
import Foundation
import Hashing
import Pipeline
import Store

/// One self-contained HTML page (inline CSS, inline SVG, a few lines of inline script; nothing
/// fetched) for a run or a sweep.
struct HTMLReport {
    private(set) var body = ""
    let title: String

    init(title: String) { self.title = title }

    mutating func heading(_ text: String, level: Int = 2, id: String? = nil) {
        body += "<h\(level)\(id.map { " id=\"\(HTML.escape($0))\"" } ?? "")>\(HTML.escape(text))</h\(level)>\n"
    }

    mutating func paragraph(_ text: String, className: String? = nil) {
        body += "<p\(className.map { " class=\"\($0)\"" } ?? "")>\(HTML.escape(text))</p>\n"
    }

    mutating func raw(_ html: String) { body += html }

    /// A table; `highlight(row)` marks a row (best variant, changed entry).
    mutating func table(header: [String], rows: [[String]], className: String = "data", numericFrom: Int = 1,
                        highlight: (Int) -> Bool = { _ in false }) {
        body += "<table class=\"\(className)\"><thead><tr>" + header.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        tableBody(rows, numericFrom: numericFrom, highlight: highlight)
    }

    /// A header cell over several columns, or over one (then it spans both header rows).
    struct ColumnGroup: Equatable {
        var title: String
        /// The columns' own headers, under the title when there are several.
        var columns: [String]
    }

    /// A table with a two-row header: each group's title over its columns' headers (`RM reward` over
    /// `sft` and `ppo`), a one-column group's title spanning both rows. In a scrolling box: it can be wide.
    mutating func groupedTable(_ groups: [ColumnGroup], rows: [[String]], className: String = "data", numericFrom: Int = 1) {
        guard groups.contains(where: { $0.columns.count > 1 }) else {
            body += "<div class=\"wide\">"
            table(header: groups.map(\.title), rows: rows, className: className, numericFrom: numericFrom)
            body += "</div>\n"
            return
        }
        body += "<div class=\"wide\"><table class=\"\(className)\"><thead><tr>"
        body += groups.map { group in
            group.columns.count == 1 ? "<th rowspan=\"2\">\(HTML.escape(group.title))</th>"
                : "<th colspan=\"\(group.columns.count)\">\(HTML.escape(group.title))</th>"
        }.joined() + "</tr><tr>"
        body += groups.filter { $0.columns.count > 1 }.flatMap(\.columns).map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        tableBody(rows, numericFrom: numericFrom, highlight: { _ in false })
        body += "</div>\n"
    }

    private mutating func tableBody(_ rows: [[String]], numericFrom: Int, highlight: (Int) -> Bool) {
        for (index, row) in rows.enumerated() {
            body += highlight(index) ? "<tr class=\"best\">" : "<tr>"
            for (column, cell) in row.enumerated() {
                let numeric = column >= numericFrom && Double(cell) != nil
                body += numeric ? "<td class=\"num\">\(HTML.escape(cell))</td>" : "<td>\(HTML.escape(cell))</td>"
            }
            body += "</tr>\n"
        }
        body += "</tbody></table>\n"
    }

    mutating func charts(_ svgs: [String]) {
        let nonEmpty = svgs.filter { !$0.isEmpty }
        guard !nonEmpty.isEmpty else { return }
        body += "<div class=\"charts\">\n" + nonEmpty.map { "<figure>\($0)</figure>\n" }.joined() + "</div>\n"
    }

    /// The page. The script only adds a point counter for checks (`data-plotted-points` on body)
    /// and a hover read-out; the charts themselves are plain SVG.
    var html: String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title))</title>
        <style>
        body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 24px auto; max-width: 1180px; color: #222; padding: 0 16px; }
        h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        h3 { font-size: 15px; margin: 18px 0 6px; } .meta { color: #555; margin: 2px 0; } code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; }
        table.data { border-collapse: collapse; margin: 8px 0; } table.data th, table.data td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
        table.data th { background: #f5f5f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; } tr.best td { background: #eef8ee; font-weight: 600; }
        table.samples td { max-width: 520px; white-space: pre-wrap; word-break: break-word; } .wide { overflow-x: auto; }
        table.data th[colspan] { text-align: center; }
        .charts { display: flex; flex-wrap: wrap; gap: 8px; } figure { margin: 0; border: 1px solid #eee; }
        svg .title { font-size: 13px; font-weight: 600; fill: #333; } svg .tick, svg .legend, svg .label { font-size: 11px; fill: #555; }
        #readout { position: fixed; right: 16px; bottom: 16px; background: #333; color: #fff; padding: 4px 8px; border-radius: 4px; font-size: 12px; display: none; }
        </style>
        </head>
        <body>
        \(body)<div id="readout"></div>
        <footer class="meta">Written by pipe. Self-contained: no network access needed.</footer>
        <script>
        (function () {
          var total = 0;
          document.querySelectorAll('polyline.series').forEach(function (line) { total += Number(line.getAttribute('data-points')) || 0; });
          var bars = document.querySelectorAll('rect.bar').length;
          document.body.setAttribute('data-plotted-points', String(total));
          document.body.setAttribute('data-plotted-bars', String(bars));
          var readout = document.getElementById('readout');
          document.querySelectorAll('circle.pt, rect.bar').forEach(function (el) {
            el.addEventListener('mouseenter', function () { var t = el.querySelector('title'); readout.textContent = t ? t.textContent : ''; readout.style.display = 'block'; });
            el.addEventListener('mouseleave', function () { readout.style.display = 'none'; });
          });
        })();
        </script>
        </body>
        </html>

        """
    }
}

/// One variant of a sweep: its member entry, its run and the run's metrics.
struct RecordedVariant {
    var member: SweepMember
    var details: RunDetails
    var metrics: RunMetrics
}

/// Builds the report pages from the registry and store.
enum ReportBuilder {
    static func runPage(_ details: RunDetails, registry: RunRegistry, store: ArtifactStore) -> String {
        let run = details.run
        var page = HTMLReport(title: "pipe report: \(run.name) run \(run.id)")
        page.heading("\(run.name) — run \(run.id)", level: 1)
        page.paragraph("\(run.status.rawValue) · started \(StoreDate.text(run.startedAt))"
                       + (run.durationSeconds.map { " · took \(Format.seconds($0))" } ?? "") + " · host \(run.host)", className: "meta")
        page.paragraph("pipeline \(RunPaths.display(run.pipelinePath)) · command: \(run.commandLine.joined(separator: " "))",
                       className: "meta")
        if let membership = try? registry.sweepMembership(runID: run.id) {
            page.paragraph("variant \(membership.variant) of sweep \(membership.sweepID)", className: "meta")
        }
        let metrics = RunMetrics.load(details, registry: registry, store: store)
        let stages = details.stages.map(\.stage)
        let artifacts = ReportArtifacts.collect(details, store: store)
        let sources = inputSources(details, store: store)
        // What the run achieved first, then how it got there.
        appendHeadline(&page, headlines(artifacts: artifacts, metrics: metrics, stages: stages, inputSources: sources))
        appendGoldVersusProxy(&page, metrics: metrics, stages: stages)
        appendCurves(&page, metrics: metrics, stages: stages, segments: SeriesSegments.layouts(details, store: store))
        appendEvaluation(&page, artifacts: artifacts, metrics: metrics, stages: stages, inputSources: sources)

        page.heading("Stages")
        page.table(header: ["stage", "outcome", "key", "time", "outputs"], rows: details.stages.map { execution in
            [execution.stage, execution.outcome.rawValue, String(execution.key.prefix(12)),
             execution.durationSeconds.map(Format.seconds) ?? "",
             execution.outputs.keys.sorted().map { "\($0) \(execution.outputs[$0]!.short)" }.joined(separator: ", ")
                + (execution.message.map { "  (\($0))" } ?? "")]
        }, numericFrom: 99)
        page.heading("Params")
        page.table(header: ["param", "value"], rows: RunComparison.params(run.params).map { ["\($0.stage).\($0.name)", $0.value] })
        return page.html
    }

    static func sweepPage(_ sweep: SweepInfo, registry: RunRegistry, store: ArtifactStore) throws -> String {
        var page = HTMLReport(title: "pipe report: sweep \(sweep.id)")
        page.heading("\(sweep.name) — sweep \(sweep.id)", level: 1)
        page.paragraph("\(sweep.members.count) variants · started \(StoreDate.text(sweep.startedAt)) · "
                       + "pipeline \(RunPaths.display(sweep.pipelinePath))", className: "meta")
        page.paragraph("command: \(sweep.commandLine.joined(separator: " "))", className: "meta")

        let variants = try sweepVariants(sweep, registry: registry, store: store)
        // A sweep whose runs evaluate training arms: per arm over seeds first.
        appendArms(&page, ArmComparison.collect(variants.map(ArmComparison.Variant.init), store: store))
        let stageOrder = variants.first?.details.stages.map(\.stage) ?? []
        // Stages whose key differs between variants are the swept ones.
        let swept = stageOrder.filter { stage in Set(variants.map { v in v.details.stages.first { $0.stage == stage }?.key ?? "" }).count > 1 }
        let table = SweepTable(rows: variants.map { v in
            SweepTable.Row(variant: v.member.variant, runID: v.member.runID, status: v.details.run.status.rawValue,
                           params: v.member.overrides, metrics: v.metrics.summary)
        }, rankBy: sweep.rankBy, maximize: sweep.maximize, stageOrder: stageOrder, sweptStages: swept)

        page.heading("Variants" + (sweep.rankBy.map { ", best first by \($0) (\(sweep.maximize ? "higher" : "lower") is better)" } ?? ""))
        let paramColumns = variants.first?.member.overrides.map(\.target) ?? []
        let columns = table.metricColumns
        let ranked = table.ranked
        page.table(header: ["#"] + paramColumns + columns + ["run", "status"], rows: ranked.enumerated().map { position, row in
            [String(position + 1)] + paramColumns.map { target in row.params.first { $0.target == target }?.value ?? "-" }
                + columns.map { MetricReference.value($0, in: row.metrics, stageOrder: stageOrder).map(MetricFormat.value) ?? "-" }
                + [row.runID, row.status]
        }, highlight: { $0 == 0 && sweep.rankBy != nil })

        page.heading("Comparison")
        var comparison: [String] = []
        for column in columns {
            let bars = ranked.compactMap { row in
                MetricReference.value(column, in: row.metrics, stageOrder: stageOrder).map {
                    (label: row.variant, value: $0, colour: variants.firstIndex { $0.member.runID == row.runID } ?? 0)
                }
            }
            comparison.append(SVGChart.bars(title: column, bars: bars))
        }
        page.charts(comparison)
        // Curves of the swept stages, one line per variant.
        var overlays: [String] = []
        var sameEverywhere: [String] = []
        for stage in stageOrder where swept.contains(stage) {
            let names = Set(variants.flatMap { $0.metrics.series[stage]?.keys.map { $0 } ?? [] }).sorted { $0.utf8Precedes($1) }
            for name in names {
                let curves = variants.compactMap { v -> [MetricPoint]? in
                    guard let points = v.metrics.series[stage]?[name], points.count >= 2 else { return nil }
                    return points
                }
                let levels = curves.map(constantValue)
                if !curves.isEmpty, let level = levels[0], levels.allSatisfy({ $0 == level || ($0?.isNaN == true && level.isNaN) }) {
                    sameEverywhere.append("\(stage) · \(name) = \(MetricFormat.value(level))")
                    continue
                }
                let series = variants.enumerated().compactMap { index, v -> SVGChart.Series? in
                    guard let points = v.metrics.series[stage]?[name], points.count >= 2 else { return nil }
                    return SVGChart.Series(name: v.member.variant, points: points.map { (Double($0.step), $0.value) }, colour: index)
                }
                if !series.isEmpty { overlays.append(SVGChart.lines(title: "\(stage) · \(name)", series: series)) }
            }
        }
        // Which variants over-optimised their proxy (gold measured during training).
        let trends = variants.flatMap { v in
            stageOrder.filter(swept.contains).compactMap { stage in
                v.metrics.series[stage].flatMap { goldTrend(stage: stage, series: $0) }.map { (v.member.variant, $0) }
            }
        }
        if !trends.isEmpty {
            page.heading("Gold vs proxy per variant", level: 3)
            for (variant, trend) in trends {
                page.raw("<p class=\"gold-verdict\" data-variant=\"\(HTML.escape(variant))\" data-stage=\"\(HTML.escape(trend.stage))\" "
                         + "data-overoptimised=\"\(trend.overOptimised)\">" + HTML.escape("\(variant) · \(trend.sentence)") + "</p>\n")
            }
        }
        if !overlays.isEmpty || !sameEverywhere.isEmpty { page.heading("Training curves per variant", level: 3) }
        if !sameEverywhere.isEmpty { page.paragraph("constant in every variant: " + sameEverywhere.joined(separator: ", "), className: "constant") }
        if !overlays.isEmpty { page.charts(overlays) }
        // Shared stages' curves once.
        if let first = variants.first {
            let shared = stageOrder.filter { !swept.contains($0) }
            var sharedMetrics = first.metrics
            sharedMetrics.series = sharedMetrics.series.filter { shared.contains($0.key) }
            appendCurves(&page, metrics: sharedMetrics, stages: shared, heading: "Shared stages (run once for every variant)")
        }
        for v in ranked.prefix(1) {
            if let details = variants.first(where: { $0.member.runID == v.runID })?.details {
                let artifacts = ReportArtifacts.collect(details, store: store)
                if !artifacts.samples.isEmpty || !artifacts.evaluations.isEmpty {
                    page.heading("Best variant: \(v.variant)")
                    appendEvaluation(&page, artifacts: artifacts, metrics: RunMetrics(series: [:], summary: [:]), stages: stageOrder,
                                     inputSources: inputSources(details, store: store))
                }
            }
        }
        return page.html
    }

    /// Each member's run and metrics, in variant order.
    static func sweepVariants(_ sweep: SweepInfo, registry: RunRegistry, store: ArtifactStore) throws -> [RecordedVariant] {
        try sweep.members.map { member in
            let details = try registry.runDetails(id: member.runID)
            return RecordedVariant(member: member, details: details, metrics: RunMetrics.load(details, registry: registry, store: store))
        }
    }

    /// One chart per metric series with at least two points, grouped by stage; series that never
    /// change are folded into one line of text per stage instead of a flat chart each.
    /// - Parameter segments: stage → a series that restarts (the judge's ensemble models), drawn as
    ///   one line per run.
    static func appendCurves(_ page: inout HTMLReport, metrics: RunMetrics, stages: [String], heading: String = "Training curves",
                             segments: [String: SeriesSegments.Layout] = [:]) {
        var charts: [(stage: String, svg: String)] = []
        var constants: [String: [String]] = [:]
        for stage in stages {
            guard let series = metrics.series[stage] else { continue }
            // The gold chart already shows these three together.
            let shownTogether = series["gold/score"].map { $0.count >= 2 } == true ? Set(goldChartMetrics) : []
            for name in series.keys.sorted(by: { $0.utf8Precedes($1) }) where series[name]!.count >= 2 && !shownTogether.contains(name) {
                if let value = constantValue(series[name]!) {
                    constants[stage, default: []].append("\(name) = \(MetricFormat.value(value))")
                    continue
                }
                if let layout = segments[stage], layout.metric == name, let runs = SeriesSegments.split(series[name]!, layout) {
                    let lines = runs.enumerated().map { SVGChart.Series(name: "\(layout.unit) \($0.offset + 1)", points: $0.element) }
                    charts.append((stage, SVGChart.lines(title: "\(stage) · \(name), one line per \(layout.unit)", series: lines,
                                                         xLabel: "epoch of each \(layout.unit)")))
                    continue
                }
                let points = series[name]!.map { (x: Double($0.step), y: $0.value) }
                charts.append((stage, SVGChart.lines(title: "\(stage) · \(name)", series: [SVGChart.Series(name: "\(stage).\(name)", points: points)])))
            }
        }
        guard !charts.isEmpty || !constants.isEmpty else { return }
        page.heading(heading)
        for stage in stages where charts.contains(where: { $0.stage == stage }) || constants[stage] != nil {
            page.heading(stage, level: 3)
            if let folded = constants[stage] { page.paragraph("constant: " + folded.joined(separator: ", "), className: "constant") }
            page.charts(charts.filter { $0.stage == stage }.map(\.svg))
        }
    }

    /// The value every point of a series has, or nil when it changes (NaN counts as one value).
    static func constantValue(_ points: [MetricPoint]) -> Double? {
        guard let first = points.first?.value else { return nil }
        return points.allSatisfy { $0.value == first || ($0.value.isNaN && first.isNaN) } ? first : nil
    }
}

enum StoreDate {
    /// `2026-11-22 02:04:58 UTC`
    static func text(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d UTC", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}
