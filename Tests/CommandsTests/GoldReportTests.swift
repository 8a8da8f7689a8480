@testable import Commands
import Engine
import Foundation
import Pipeline
import Store
import Testing

@Suite("Report: gold vs proxy, headline, restarting series, tick labels")
struct GoldReportTests {
    @Test func tickLabelsAreShort() {
        #expect(TickFormat.short(5e-4) == "5e-4")
        #expect(TickFormat.short(0.0005) == "5e-4")
        #expect(TickFormat.short(1.41e-5) == "1.41e-5")
        #expect(TickFormat.short(-2e-6) == "-2e-6")
        #expect(TickFormat.short(2e6) == "2e6")
        #expect(TickFormat.short(0.25) == "0.25")
        #expect(TickFormat.short(0.001) == "0.001")
        #expect(TickFormat.short(1200) == "1200")
        #expect(TickFormat.short(0) == "0")
        #expect(TickFormat.short(-0.6000000000000001) == "-0.6")
    }

    /// Every y tick label's left end (right-aligned at its x, 7 px a character) is inside the chart.
    @Test func smallValuesGetShortLabelsThatFitTheChart() throws {
        let svg = SVGChart.lines(title: "ppo · lr", series: [.init(name: "lr", points: (1...20).map { (Double($0), Double($0) * 2.5e-5) })])
        let pattern = try NSRegularExpression(pattern: #"<text x="([0-9.]+)" y="[0-9.]+" text-anchor="end" class="tick">([^<]*)</text>"#)
        let labels = pattern.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)).compactMap { match -> (Double, String)? in
            guard let x = Range(match.range(at: 1), in: svg), let text = Range(match.range(at: 2), in: svg) else { return nil }
            return (Double(svg[x]) ?? -1, String(svg[text]))
        }
        let y = labels.filter { $0.1 != "step" }
        #expect(y.count >= 3, "\(labels)")
        #expect(y.map(\.1).contains("2e-4") && y.map(\.1).contains("4e-4"), "\(y)")
        for (x, text) in y { #expect(x - Double(text.count) * 7 >= 0, "'\(text)' clipped at x \(x)") }
        // Steps are whole numbers on the x-axis.
        let short = SVGChart.lines(title: "t", series: [.init(name: "a", points: [(1, 0.5), (2, 0.25)])])
        #expect(!short.contains(">1.2<") && short.contains(">1<") && short.contains(">2<"))
    }

    @Test func rightAxisSeriesAreMarkedAndScaledOnTheirOwn() {
        let svg = SVGChart.lines(title: "g", series: [.init(name: "proxy", points: [(0, 0), (10, 1)])],
                                 rightSeries: [.init(name: "kl", points: [(0, 0), (10, 30)])], leftLabel: "reward", rightLabel: "KL")
        #expect(svg.contains("data-series=\"kl\" data-points=\"2\" data-axis=\"right\""))
        #expect(svg.contains("class=\"tick axis-right\">30<"))
        #expect(svg.contains("kl (right axis, dashed)"))
        #expect(svg.contains(">reward</text>") && svg.contains(">KL</text>"))
    }

    static func points(_ name: String, _ values: [(Int, Double)]) -> [MetricPoint] {
        values.map { MetricPoint(step: $0.0, name: name, value: $0.1) }
    }

    @Test func goldTrendNamesOverOptimisation() throws {
        let series = ["gold/proxy": Self.points("gold/proxy", [(0, 0.1), (5, 0.5), (10, 0.9)]),
                      "gold/score": Self.points("gold/score", [(0, -0.2), (5, -0.1), (10, -0.8)])]
        let trend = try #require(ReportBuilder.goldTrend(stage: "ppo", series: series))
        #expect(trend.overOptimised && trend.bestGoldStep == 5 && trend.bestGold == -0.1)
        #expect(trend.sentence.contains("ppo: over-optimisation") && trend.sentence.contains("highest at step 5"), "\(trend.sentence)")
        let honest = ["gold/proxy": Self.points("gold/proxy", [(0, 0.1), (10, 0.9)]), "gold/score": Self.points("gold/score", [(0, 0.1), (10, 0.4)])]
        let fine = try #require(ReportBuilder.goldTrend(stage: "ppo", series: honest))
        #expect(!fine.overOptimised && !fine.sentence.contains("over-optimisation"))
        #expect(ReportBuilder.goldTrend(stage: "ppo", series: ["gold/score": Self.points("gold/score", [(0, 1)])]) == nil)
    }

    @Test func goldChartComesBeforeTheCurvesWhichLeaveItsSeriesOut() {
        var page = HTMLReport(title: "t")
        let metrics = RunMetrics(series: ["ppo": [
            "gold/proxy": Self.points("gold/proxy", [(0, 0.1), (5, 0.9)]), "gold/score": Self.points("gold/score", [(0, 0), (5, -1)]),
            "gold/kl": Self.points("gold/kl", [(0, 0), (5, 3)]), "objective/kl": Self.points("objective/kl", [(1, 0.1), (5, 2)]),
        ]], summary: [:])
        ReportBuilder.appendGoldVersusProxy(&page, metrics: metrics, stages: ["ppo"])
        ReportBuilder.appendCurves(&page, metrics: metrics, stages: ["ppo"])
        let html = page.html
        #expect(html.contains("data-overoptimised=\"true\""))
        #expect(html.components(separatedBy: "data-series=\"gold score (gold/score)\"").count == 2, "plotted once, in the gold chart")
        #expect(html.contains("ppo · objective/kl"))
        #expect(!html.contains("ppo · gold/score<"))
    }

    @Test func headlinePairsEvaluationFilesAndTheGoldSetsFirstAndLastStep() {
        var artifacts = ReportArtifacts()
        artifacts.evaluations = [ReportArtifacts.Table(stage: "eval", source: "eval.report/metrics.json", rows: [
            ("ppo.heldout_perplexity", "12"), ("ppo.judge_score_mean", "0.7"), ("ppo.kl_to_reference_nats", "3"), ("ppo.rm_reward_mean", "1.5"),
            ("sft.heldout_perplexity", "10"), ("sft.judge_score_mean", "0.6"), ("sft.kl_to_reference_nats", "0"), ("sft.rm_reward_mean", "0.5"),
        ]), ReportArtifacts.Table(stage: "judge", source: "judge.model/metrics.json", rows: [("heldout_accuracy", "0.9")])]
        let metrics = RunMetrics(series: ["ppo": [
            "gold/proxy": Self.points("gold/proxy", [(0, 0.1), (5, 0.9)]), "gold/score": Self.points("gold/score", [(0, 0), (5, -1)]),
            "gold/kl": Self.points("gold/kl", [(0, 0), (5, 3)]),
        ]], summary: [:])
        let headlines = ReportBuilder.headlines(artifacts: artifacts, metrics: metrics, stages: ["judge", "ppo", "eval"],
                                                inputSources: ["eval": ["baseline": "sft.model", "policy": "ppo.model"]])
        #expect(headlines.count == 2)
        #expect(headlines[0].source == "eval (evaluation: sft.model vs ppo.model)")
        #expect(headlines[0].values.map(\.baseline) == ["0.5", "0.6", "0", "10"] && headlines[0].values.map(\.trained) == ["1.5", "0.7", "3", "12"])
        #expect(headlines[1].source == "ppo (held-out gold set during training)" && headlines[1].trained == "ppo (step 5)")
        #expect(headlines[1].values.map(\.baseline) == ["0.1", "0", "0", "-"] && headlines[1].values.map(\.trained) == ["0.9", "-1", "3", "-"])
        var page = HTMLReport(title: "t")
        ReportBuilder.appendHeadline(&page, headlines)
        #expect(page.html.contains("<td>change</td><td class=\"num\">+0.8</td><td class=\"num\">-1</td><td class=\"num\">+3</td><td></td>"),
                "the gold set's change row: \(page.html)")
    }

    @Test func judgeEnsembleModelsAreSeparateLines() throws {
        let params = [ResolvedParam(name: "epochs", value: .int(3)), ResolvedParam(name: "models", value: .int(2))]
        let layout = try #require(SeriesSegments.layout(kind: "judge", params: params))
        #expect(SeriesSegments.layout(kind: "sft", params: params) == nil)
        #expect(SeriesSegments.layout(kind: "judge", params: [ResolvedParam(name: "epochs", value: .int(3)), ResolvedParam(name: "models", value: .int(1))]) == nil)
        let loss = Self.points("judge/train_loss", [(1, 0.6), (2, 0.4), (3, 0.3), (4, 0.61), (5, 0.41), (6, 0.29)])
        let runs = try #require(SeriesSegments.split(loss, layout))
        #expect(runs.count == 2 && runs[1].map(\.x) == [1, 2, 3] && runs[1].map(\.y) == [0.61, 0.41, 0.29])
        #expect(SeriesSegments.split(Array(loss.dropLast()), layout) == nil)

        var page = HTMLReport(title: "t")
        ReportBuilder.appendCurves(&page, metrics: RunMetrics(series: ["judge": ["judge/train_loss": loss]], summary: [:]), stages: ["judge"],
                                   segments: ["judge": layout])
        #expect(page.html.contains("data-series=\"model 1\" data-points=\"3\"") && page.html.contains("data-series=\"model 2\" data-points=\"3\""))
        #expect(page.html.contains("judge · judge/train_loss, one line per model"))
    }
}
