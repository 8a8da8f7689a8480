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
