import Foundation
import Store

/// The sweep page's per-arm sections, when the runs evaluate training arms: the table (figures as
/// mean ± spread over seeds), the reward–KL frontier, proxy vs gold during training per arm, every
/// figure the evaluations hold, and the arms' answers to the same held-out prompts side by side.
extension ReportBuilder {
    /// Frontier axes, first figure present wins: the gold judge (else the proxy) against KL.
    static let frontierY: [(name: String, label: String)] = FigureNames.named(["judge_positive_rate", "judge_score_mean", "rm_reward_mean"])
        .map { (name: $0.key, label: $0.header) }
    static let frontierX = (name: "kl_to_reference_nats", label: FigureNames.header("kl_to_reference_nats"))
    static let maxSideBySidePrompts = 12

    static func appendArms(_ page: inout HTMLReport, _ comparison: ArmComparison) {
        guard !comparison.arms.isEmpty else { return }
        let armNames = comparison.arms.map(\.label).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        page.heading("Arms: " + armNames.joined(separator: ", "), id: "arms")
        page.paragraph("An arm is the stage whose model an evaluate stage scores as its policy; variants that differ only by seed "
                       + "are seeds of one configuration.", className: "meta")
        let (header, rows) = comparison.table
        page.table(header: header, rows: rows, className: "data arms")
        page.paragraph(comparison.legend, className: "meta")
        page.charts([frontierChart(comparison)] + goldCharts(comparison))
        appendGoldVerdicts(&page, comparison)
        appendAllFigures(&page, comparison)
        appendSamplesSideBySide(&page, comparison)
    }

    /// The colour of each arm row (its position among the arms), the same in every chart.
    static func armColours(_ comparison: ArmComparison) -> [String: Int] {
        var colours: [String: Int] = [:]
        for (index, row) in comparison.arms.enumerated() { colours[rowName(row, comparison)] = index }
        return colours
    }

    /// `grpo`, or `grpo · grpo.beta=0.1` when there are several configurations.
    static func rowName(_ row: ArmComparison.Row, _ comparison: ArmComparison) -> String {
        comparison.configurations.count > 1 && !row.configuration.isEmpty ? "\(row.label) · \(row.configuration)" : row.label
    }

    /// Gold judge positive rate against KL: one point per arm and seed, the mean marked, the SFT
    /// baseline in grey.
    static func frontierChart(_ comparison: ArmComparison) -> String {
        let present = Set(comparison.rows.flatMap(\.figures.keys))
        guard present.contains(frontierX.name), let y = frontierY.first(where: { present.contains($0.name) }) else { return "" }
        let colours = armColours(comparison)
        var groups: [SVGChart.ScatterGroup] = []
        for row in comparison.rows {
            let values = row.isBaseline ? row.observations.map(\.baseline) : row.observations.map(\.trained)
            let points = zip(row.seeds, values).compactMap { seed, figures -> (x: Double, y: Double, label: String)? in
                guard let kl = figures[frontierX.name], let score = figures[y.name] else { return nil }
                return (kl, score, "seed \(seed)")
            }
            guard !points.isEmpty else { continue }
            // Grey is the palette's ninth colour.
            groups.append(SVGChart.ScatterGroup(name: row.isBaseline ? row.label : rowName(row, comparison), points: points,
                                                colour: row.isBaseline ? 8 : colours[rowName(row, comparison)] ?? 0))
        }
        return SVGChart.scatter(title: "Reward–KL frontier: \(y.label) vs KL, one point per arm and seed",
                                groups: groups, xLabel: frontierX.label, yLabel: y.label)
    }

    /// Per arm with a gold scorer during training: proxy and gold (left) and KL (right), the mean
    /// over its seeds at the steps every seed measured.
    static func goldCharts(_ comparison: ArmComparison) -> [String] {
        comparison.arms.compactMap { row in
            let means = meanGold(row)
            guard let gold = means["gold/score"], gold.count >= 2 else { return nil }
            func line(_ name: String, _ label: String, colour: Int) -> [SVGChart.Series] {
                guard let points = means[name], !points.isEmpty else { return [] }
                return [SVGChart.Series(name: label, points: points.map { (Double($0.step), $0.value) }, colour: colour)]
            }
            let seeds = row.observations.filter { $0.gold["gold/score"] != nil }.count
            return SVGChart.lines(title: "\(rowName(row, comparison)) · gold vs proxy, mean of \(seeds) seed\(seeds == 1 ? "" : "s")",
                                  series: line("gold/proxy", "proxy reward (gold/proxy)", colour: 0) + line("gold/score", "gold score (gold/score)", colour: 2),
                                  rightSeries: line("gold/kl", "KL to SFT, nats (gold/kl)", colour: 1),
                                  leftLabel: "reward (proxy, gold)", rightLabel: "KL (nats)")
        }
    }

    /// Series name → mean over the row's seeds at each step all of them logged (seeds without gold
    /// series are left out).
    static func meanGold(_ row: ArmComparison.Row) -> [String: [MetricPoint]] {
        var result: [String: [MetricPoint]] = [:]
        for name in goldChartMetrics {
            let runs = row.observations.compactMap { $0.gold[name] }.filter { !$0.isEmpty }
            guard let first = runs.first else { continue }
            let steps = first.map(\.step).filter { step in runs.allSatisfy { $0.contains { $0.step == step } } }
            result[name] = steps.map { step in
                var sum = 0.0
                for run in runs { sum += run.first { $0.step == step }!.value }
                return MetricPoint(step: step, name: name, value: sum / Double(runs.count))
            }
        }
        return result
    }

    static func appendGoldVerdicts(_ page: inout HTMLReport, _ comparison: ArmComparison) {
        for row in comparison.arms {
            guard let trend = goldTrend(stage: row.arm, series: meanGold(row)) else { continue }
            page.raw("<p class=\"gold-verdict\" data-arm=\"\(HTML.escape(rowName(row, comparison)))\" data-overoptimised=\"\(trend.overOptimised)\">"
                     + HTML.escape("\(rowName(row, comparison)) (mean over seeds) · \(trend.sentence)") + "</p>\n")
        }
    }

    /// Every figure the evaluations hold, one row per figure and one column per arm row.
    static func appendAllFigures(_ page: inout HTMLReport, _ comparison: ArmComparison) {
        let figures = comparison.allFigures
        guard figures.count > comparison.tableFigures.count else { return }
        page.heading("Every evaluation figure per arm (mean ± sample standard deviation (min–max) over seeds)", level: 3)
        page.table(header: ["figure"] + comparison.rows.map { $0.isBaseline ? "SFT baseline" : rowName($0, comparison) },
                   rows: figures.map { name in [name] + comparison.rows.map { $0.figures[name]?.text ?? "-" } },
                   className: "data arms-figures")
    }

    /// The same held-out prompts answered by the baseline and every arm, from each evaluation of the
    /// first configuration's first seed. Prompts are matched by text (and occurrence, for repeats).
    static func appendSamplesSideBySide(_ page: inout HTMLReport, _ comparison: ArmComparison) {
        guard let configuration = comparison.configurations.first else { return }
        let arms = comparison.arms.filter { $0.configuration == configuration }
        guard let seed = arms.first?.seeds.first else { return }
        let answers = arms.compactMap { row -> (name: String, samples: [ArmComparison.SampleRow])? in
            guard let o = row.observations.first(where: { $0.seed == seed }), !o.samples.isEmpty else { return nil }
            return (rowName(row, comparison), o.samples)
        }
        guard let first = answers.first else { return }
        func keyed(_ samples: [ArmComparison.SampleRow]) -> [String: ArmComparison.SampleRow] {
            var seen: [String: Int] = [:], result: [String: ArmComparison.SampleRow] = [:]
            for sample in samples {
                let occurrence = seen[sample.prompt, default: 0]
                seen[sample.prompt] = occurrence + 1
                result["\(occurrence)\u{0}\(sample.prompt)"] = sample
            }
            return result
        }
        let byArm = answers.map { keyed($0.samples) }
        var seen: [String: Int] = [:]
        var rows: [[String]] = []
        for sample in first.samples.prefix(maxSideBySidePrompts) {
            let occurrence = seen[sample.prompt, default: 0]
            seen[sample.prompt] = occurrence + 1
            let key = "\(occurrence)\u{0}\(sample.prompt)"
            rows.append([sample.prompt, sample.baseline] + byArm.map { $0[key]?.trained ?? "(not among its prompts)" })
        }
        page.heading("Samples side by side (seed \(seed)" + (configuration.isEmpty ? "" : ", \(configuration)") + ")", level: 3)
        page.paragraph("The same held-out prompts, answered by the SFT baseline (as \(arms[0].observations[0].evaluation) sampled it) "
                       + "and by each arm's policy in its own evaluation.", className: "meta")
        page.table(header: ["prompt", "SFT"] + answers.map(\.name), rows: rows, className: "data samples arms-samples", numericFrom: 99)
    }
}
