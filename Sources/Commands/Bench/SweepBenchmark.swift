import Engine
import Foundation
import Hashing
import Pipeline
import Store

/// `pipe bench sweep`: what a 4-variant sweep (2×2 over two PPO params of the 6-stage command
/// pipeline, millisecond stages) costs beyond running its stages, by spawning the real binary.
///
/// Per repetition, on an empty store: the sweep's wall time, the stages' own run time on the
/// critical path of the merged DAG (from the stage records' start/finish times), and the difference
/// — the scheduling overhead (loading and freezing the variants, keying, hashing, ingesting,
/// recording, process start-up of pipe itself). Then the no-op rerun (everything cached).
/// DVC's queued `dvc exp run` needs 12–27 s on this machine for the same 4 variants.
public enum SweepBenchmark {
    public static let axes = ["ppo.lr=1e-5,3e-5", "ppo.init_kl_coef=0.1,0.2"]

    public static func run(pipeExecutable: String, directory: String? = nil, repetitions: Int = 10, jobs: Int = 2,
                           output: (String) -> Void) throws {
        let base = directory ?? (NSTemporaryDirectory() + "pipe-bench-sweep-\(getpid())")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: base) } }
        let workspace = base + "/ws"
        try CommandPipelineFixture.write(into: workspace)
        let arguments = ["run", CommandPipelineFixture.pipelineFile, "-j", String(jobs)] + axes.flatMap { ["--sweep", $0] }
        output("pipe bench sweep: \(pipeExecutable)")
        output("`pipe \(arguments.joined(separator: " "))` in a fresh workspace: 4 variants, 12 distinct stages "
               + "(tokens, sft, pairs, rm once; ppo and eval per variant), \(repetitions) cold runs on an empty store")

        let file = workspace + "/" + CommandPipelineFixture.pipelineFile
        let plan = try SweepPlan(variants: PipelineLoader(workspace: Workspace.locate(pipelineFile: file)).loadSweep(file: file, sweeps: axes))

        var walls: [Double] = [], critical: [Double] = [], sums: [Double] = []
        for _ in 0..<repetitions {
            try? FileManager.default.removeItem(atPath: workspace + "/artifacts")
            let wall = try RunnerBenchmark.time(pipeExecutable, arguments, in: workspace, expectSuccess: true)
            let store = try ArtifactStore(root: workspace + "/artifacts", cleanTemporary: false)
            var durations: [String: Double] = [:]
            for key in try store.allRecordKeys() {
                if let record = store.record(forKey: key) { durations[record.stage] = record.durationSeconds }
            }
            guard durations.count == plan.nodes.count else {
                throw RunnerError.io("benchmark: expected \(plan.nodes.count) stage results, found \(durations.count)")
            }
            walls.append(wall)
            sums.append(durations.values.reduce(0, +))
            critical.append(criticalPath(plan.pipeline, durations: durations))
        }
        let overheads = zip(walls, critical).map { $0 - $1 }
        func line(_ name: String, _ values: [Double], target: Double? = nil) -> String {
            let figure = RunnerBenchmark.Figure(name: name, samples: values, target: target)
            return figure.line.replacingOccurrences(of: "runner.", with: "sweep.")
        }
        output(line("cold-4-variants", walls))
        output(line("critical-path-stages", critical))
        output(line("sum-of-12-stages", sums))
        output(line("overhead", overheads, target: 0.5))

        _ = try RunnerBenchmark.time(pipeExecutable, arguments, in: workspace, expectSuccess: true)
        var noop: [Double] = []
        for _ in 0..<max(repetitions, 10) { noop.append(try RunnerBenchmark.time(pipeExecutable, arguments, in: workspace, expectSuccess: true)) }
        output(line("noop-rerun", noop))
        output("for comparison: DVC's queued `dvc exp run` of the same 4 variants takes 12–27 s on this machine")
    }

    /// The longest chain of stage run times through the DAG.
    static func criticalPath(_ pipeline: ResolvedPipeline, durations: [String: Double]) -> Double {
        var finish: [String: Double] = [:]
        for stage in pipeline.stages {
            let start = stage.upstreamStages.map { finish[$0] ?? 0 }.max() ?? 0
            finish[stage.name] = start + (durations[stage.name] ?? 0)
        }
        return finish.values.max() ?? 0
    }
}
