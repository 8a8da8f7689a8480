@testable import Commands
import Engine
import Pipeline
import Testing

@Suite("Formatting helpers")
struct FormattingTests {
    @Test func durations() {
        #expect(Format.seconds(0.0123) == "12ms")
        #expect(Format.seconds(3.21) == "3.2s")
        #expect(Format.seconds(125) == "2m05s")
    }

    @Test func progressBar() {
        #expect(TerminalLiveView.bar(0.5, width: 4) == "[██░░]")
        #expect(TerminalLiveView.bar(2, width: 2) == "[██]")
    }

    @Test func percentiles() {
        let figure = RunnerBenchmark.Figure(name: "x", samples: [5, 1, 4, 2, 3], target: nil)
        #expect(figure.median == 3)
        #expect(abs(figure.p90 - 4.6) < 1e-9)
        #expect(figure.best == 1)
    }

    @Test func suggestions() {
        #expect(Suggestion.nearest(to: "sfft", in: ["tokens", "sft", "ppo"]) == "sft")
        #expect(Suggestion.nearest(to: "zzzzzz", in: ["tokens", "sft"]) == nil)
    }

    @Test func runSummaryLine() {
        let summary = RunSummary(runID: "r1", ran: 2, cached: 4, failed: 1, skipped: 1, interrupted: false, seconds: 1.5)
        #expect(summary.line == "run r1 failed: 2 ran, 4 cached, 1 failed, 1 skipped in 1.5s")
    }
}

@Suite("Baseline and trained model side by side")
struct SideBySideTests {
    @Test func pairsTheBaselineWithTheTrainedGroup() throws {
        let paired = try #require(SideBySide.pair([
            (key: "sft.reward", value: "0.25"), (key: "sft.perplexity", value: "30"),
            (key: "ppo.reward", value: "0.75"), (key: "ppo.kl", value: "1.5"),
            (key: "rm.accuracy", value: "0.8"), (key: "comparison", value: "x"),
        ]))
        #expect(paired.baseline == "sft" && paired.trained == "ppo")
        #expect(paired.rows == [
            SideBySide.Row(metric: "reward", baseline: "0.25", trained: "0.75", difference: "+0.5"),
            SideBySide.Row(metric: "perplexity", baseline: "30", trained: "-", difference: ""),
            SideBySide.Row(metric: "kl", baseline: "-", trained: "1.5", difference: ""),
        ])
        #expect(paired.rest.map(\.key) == ["rm.accuracy", "comparison"])
    }

    @Test func slashNamesPairAndUnrelatedGroupsDoNot() {
        let paired = SideBySide.pair([(key: "baseline/loss", value: "2"), (key: "policy/loss", value: "1.5")])
        #expect(paired?.rows == [SideBySide.Row(metric: "loss", baseline: "2", trained: "1.5", difference: "-0.5")])
        #expect(SideBySide.pair([(key: "sft.a", value: "1"), (key: "ppo.b", value: "2")]) == nil)
        #expect(SideBySide.pair([(key: "train.loss", value: "1"), (key: "eval.loss", value: "2")]) == nil)
    }

    @Test func diffChangeHasItsSignAndRelativeSize() {
        #expect(RunComparison.change(4, 6) == (absolute: "+2", relative: "+50.0%"))
        #expect(RunComparison.change(0.8, 0.6).absolute == "-0.2")
        #expect(RunComparison.change(0, 1) == (absolute: "+1", relative: ""))
        #expect(RunComparison.change(nil, 1) == (absolute: "", relative: ""))
    }
}

@Suite("pipe diff text")
struct RunComparisonTextTests {
    typealias Row = RunComparison.Row

    @Test func onlyDifferencesByDefaultWithColumnsThatFitAndLongValuesBelow() {
        let long = "[" + Array(repeating: "\"a prompt that is long\"", count: 4).joined(separator: ", ") + "]"
        let longer = long.replacingOccurrences(of: "long", with: "longer")
        let comparison = RunComparison(rows: [
            Row(section: "params", name: "ppo.lr", a: "1.41e-05", b: "3e-05"),
            Row(section: "params", name: "ppo.steps", a: "100", b: "100"),
            Row(section: "params", name: "eval.prompts", a: long, b: longer),
            Row(section: "stages", name: "sft key", a: "3f2a9c1d2e3f cached", b: "3f2a9c1d2e3f ran", same: true),
            Row(section: "metrics", name: "eval.score", a: "0.1", b: "0.15", same: false, valueA: 0.1, valueB: 0.15),
            Row(section: "metrics", name: "eval.loss", a: "2", b: "2", same: true, valueA: 2, valueB: 2),
        ])
        let text = comparison.text(all: false, colour: false)
        let expected = [
            "PARAMS          A         B",
            "  ppo.lr        1.41e-05    3e-05",   // numbers right-aligned
            "  eval.prompts  (below)   (below)",
            "  eval.prompts:",
            "    A  " + long,
            "    B  " + longer,
            "",
            "METRICS       A    B     B − A  relative",
            "  eval.score  0.1  0.15  +0.05  +50.0%",
            "",
            "3 of 6 entries differ (--all shows every entry)",
            "",
        ].joined(separator: "\n")
        #expect(text == expected, "\n\(text)")
        let all = comparison.text(all: true, colour: false)
        #expect(all.contains("  ppo.lr        1.41e-05    3e-05  *\n") && all.contains("  ppo.steps          100      100\n"), "\(all)")
        #expect(all.contains("  sft key  3f2a9c1d2e3f cached  3f2a9c1d2e3f ran\n"), "\(all)")
        #expect(all.hasSuffix("3 of 6 entries differ\n"))
    }
}
