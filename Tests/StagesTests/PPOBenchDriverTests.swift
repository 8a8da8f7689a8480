import Foundation
import Testing
import Stages

/// `pipe bench ppo`'s measurement from a release test build, for when the command is not wired yet:
///   PIPE_PPO_BENCH=5 swift test -c release -Xswiftc -enable-testing --filter PPOBenchDriverTests
@Suite struct PPOBenchDriverTests {
    static let steps = ProcessInfo.processInfo.environment["PIPE_PPO_BENCH"].flatMap(Int.init)

    @Test(.enabled(if: steps != nil, "set PIPE_PPO_BENCH=<steps> to time PPO steps on config S"))
    func timeOnePPOStep() throws {
        let f = try PPOBenchmark.run(steps: Self.steps!)
        print(String(format: "PPO step (config S, median of %d): generate %.3f s, score %.3f s, update %.3f s, total %.3f s",
                     Self.steps!, f.generate, f.score, f.update, f.total))
    }
}
