@testable import Commands
import Engine
import Store
import Testing

@Suite("Report pieces: charts, tables, metric references")
struct ReportChartTests {
    @Test func ticksAreRoundAndInsideTheRange() {
        #expect(SVGChart.ticks(0, 10) == [0, 2, 4, 6, 8, 10])
        #expect(SVGChart.ticks(0.13, 0.87) == [0.2, 0.4, 0.6, 0.8])
        #expect(SVGChart.ticks(-1, 1).contains(0))
    }

    @Test func lineChartPlotsEveryFinitePointAndEscapesNames() {
        let svg = SVGChart.lines(title: "ppo · <kl>", series: [
            .init(name: "a&b", points: [(1, 0.5), (2, .nan), (3, 0.25)]),
            .init(name: "c", points: [(1, 1), (2, 2)]),
        ])
        #expect(svg.contains("data-series=\"a&amp;b\" data-points=\"2\""))
        #expect(svg.contains("data-series=\"c\" data-points=\"2\""))
        #expect(svg.components(separatedBy: "<circle class=\"pt\"").count - 1 == 4)
        #expect(svg.contains("ppo · &lt;kl&gt;"))
        #expect(SVGChart.lines(title: "empty", series: []) == "")
    }

    @Test func metricReferencesResolveStageDotOrSlashAndBareNames() {
        let summary = ["eval": ["judge/positive_rate": 0.7, "reward": 1.5], "ppo": ["kl": 0.1]]
        let order = ["ppo", "eval"]
        #expect(MetricReference.value("eval.reward", in: summary, stageOrder: order) == 1.5)
        #expect(MetricReference.value("eval/reward", in: summary, stageOrder: order) == 1.5)
        #expect(MetricReference.value("eval.judge/positive_rate", in: summary, stageOrder: order) == 0.7)
        #expect(MetricReference.value("kl", in: summary, stageOrder: order) == 0.1)
        #expect(MetricReference.value("eval.missing", in: summary, stageOrder: order) == nil)
    }

    @Test func sweepTableRanksBestFirstWithMissingValuesLast() {
        func row(_ name: String, _ score: Double?) -> SweepTable.Row {
            SweepTable.Row(variant: name, runID: "r-\(name)", status: "succeeded", params: [("ppo.lr", name)],
                           metrics: score.map { ["eval": ["score": $0]] } ?? [:])
        }
        var table = SweepTable(rows: [row("a", 0.1), row("b", nil), row("c", 0.9), row("d", 0.5)], rankBy: "eval.score",
                               maximize: true, stageOrder: ["ppo", "eval"], sweptStages: ["eval", "ppo"])
        #expect(table.ranked.map(\.variant) == ["c", "d", "a", "b"])
        table.maximize = false
        #expect(table.ranked.map(\.variant) == ["a", "d", "c", "b"])
        table.rankBy = nil
        #expect(table.ranked.map(\.variant) == ["a", "b", "c", "d"])
        let text = SweepTable(rows: [row("a", 0.1)], rankBy: "eval.scor", maximize: true, stageOrder: ["eval"], sweptStages: ["eval"])
            .text(colour: false)
        #expect(text.contains("did you mean 'eval.score'"), "\(text)")
    }

    @Test func metricFormatIsShortAndStable() {
        #expect(MetricFormat.value(0.2) == "0.2")
        #expect(MetricFormat.value(3) == "3")
        #expect(MetricFormat.value(1.41e-5) == "1.410e-05")
        #expect(MetricFormat.value(-0.0591234) == "-0.0591")
        #expect(MetricFormat.bytes(1536) == "1.5 KiB")
    }
}
