import Foundation

/// `pipe bench runner`'s stage-count scaling table: the 6-stage command pipeline swept over a grid of
/// PPO values (`ppo.lr` × `ppo.init_kl_coef`), so tokens, sft, pairs and rm are shared and ppo and
/// eval exist once per variant: 2×2 → 12 stages, 8×8 → 132, 16×16 → 516, 16×32 → 1,028. Each size
/// runs once cold, then times the no-op rerun (`pipe run … --sweep …`) and `pipe status … --sweep …`
/// by spawning the real binary, as a user would.
public enum RunnerScalingBenchmark {
    /// One row of the table: the grid and what it costs to do nothing.
    public struct Row: Sendable {
        public var lrValues: Int
        public var klValues: Int
        public var stages: Int { 4 + 2 * lrValues * klValues }
        public var noopRun: RunnerBenchmark.Figure
        /// Nil when the binary refuses `status --sweep` (builds before it was accepted).
        public var status: RunnerBenchmark.Figure?
    }

    /// Grids of the table, in order (12, 132, 516 and 1,028 stages).
    public static let grids: [(lr: Int, kl: Int)] = [(2, 2), (8, 8), (16, 16), (16, 32)]

    /// Target for a 1,000-stage no-op run (release build), printed beside every row.
    public static let noopTarget1000 = 0.150

    /// The `--sweep` arguments of a `lr × kl` grid (distinct, exactly printable values).
    public static func sweepArguments(lr: Int, kl: Int) -> [String] {
        let lrs = (1...lr).map { String(format: "%de-06", $0) }
        let kls = (1...kl).map { String(format: "0.%03d", $0) }
        return ["--sweep", "ppo.lr=" + lrs.joined(separator: ","), "--sweep", "ppo.init_kl_coef=" + kls.joined(separator: ",")]
    }

    /// Builds one workspace per grid and prints the table to `output` (row by row as measured).
    /// - Parameters:
    ///   - repetitions: timed runs per figure (the median is the figure; 5 by default).
    ///   - grids: which grids to measure (default: all four).
    public static func run(pipeExecutable: String, base: String, repetitions: Int = 5, jobs: Int = 2,
                           grids: [(lr: Int, kl: Int)] = RunnerScalingBenchmark.grids,
                           output: (String) -> Void) throws -> [Row] {
        output("stage-count scaling: the 6-stage pipeline swept ppo.lr × ppo.init_kl_coef; no-op rerun and status, "
               + "median of \(repetitions) (after one cold run with -j \(jobs) and one warm-up)")
        output("  command: pipe run \(CommandPipelineFixture.pipelineFile) --sweep ppo.lr=1e-06,…,Ne-06 --sweep ppo.init_kl_coef=0.001,…,0.0MM")
        output(header)
        var rows: [Row] = []
        for grid in grids {
            let workspace = base + "/scale-\(grid.lr)x\(grid.kl)"
            try CommandPipelineFixture.write(into: workspace)
            let sweep = sweepArguments(lr: grid.lr, kl: grid.kl)
            let run = ["run", CommandPipelineFixture.pipelineFile] + sweep
            let status = ["status", CommandPipelineFixture.pipelineFile] + sweep
            let cold = try RunnerBenchmark.time(pipeExecutable, run + ["-j", String(jobs)], in: workspace, expectSuccess: true)
            func measure(_ name: String, _ arguments: [String], target: Double?) throws -> RunnerBenchmark.Figure {
                _ = try RunnerBenchmark.time(pipeExecutable, arguments, in: workspace, expectSuccess: true)  // warm-up
                var wall: [Double] = [], cpu: [Double] = []
                for _ in 0..<repetitions {
                    let sample = try RunnerBenchmark.timeAndCPU(pipeExecutable, arguments, in: workspace, expectSuccess: true)
                    wall.append(sample.wall)
                    cpu.append(sample.cpu)
                }
                return RunnerBenchmark.Figure(name: name, samples: wall, cpuSamples: cpu, target: target)
            }
            let noop = try measure("noop-run", run, target: nil)
            let statusFigure = try? measure("status", status, target: nil)
            var row = Row(lrValues: grid.lr, klValues: grid.kl, noopRun: noop, status: statusFigure)
            row.noopRun.target = noopTarget1000
            rows.append(row)
            output(line(row, coldSeconds: cold))
            try? FileManager.default.removeItem(atPath: workspace)
        }
        return rows
    }

    static let header = "  stages  grid    cold run   no-op run (cpu)        per stage   status (cpu)           "
        + "no-op target (1,000 stages) wall / cpu"

    static func line(_ row: Row, coldSeconds: Double) -> String {
        let grid = "\(row.lrValues)×\(row.klValues)".padding(toLength: 6, withPad: " ", startingAt: 0)
        var text = String(format: "  %6d  %@  %7.2f s  %7.1f ms (%6.1f ms)  %6.3f ms  ",
                          row.stages, grid, coldSeconds,
                          row.noopRun.median * 1000, RunnerBenchmark.Figure.percentile(row.noopRun.cpuSamples, 0.5) * 1000,
                          row.noopRun.median * 1000 / Double(row.stages))
        if let status = row.status {
            text += String(format: "%7.1f ms (%6.1f ms)", status.median * 1000, RunnerBenchmark.Figure.percentile(status.cpuSamples, 0.5) * 1000)
        } else {
            text += "refused (usage error)".padding(toLength: 22, withPad: " ", startingAt: 0)
        }
        if let target = row.noopRun.target {
            // CPU beside wall: on a loaded machine the wall figure mostly measures the other jobs.
            let cpu = RunnerBenchmark.Figure.percentile(row.noopRun.cpuSamples, 0.5)
            text += String(format: "  ≤ %.0f ms: %@ / %@", target * 1000, row.noopRun.median <= target ? "met" : "MISSED",
                           cpu <= target ? "met" : "MISSED")
        }
        return text
    }
}
