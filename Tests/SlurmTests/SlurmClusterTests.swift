import Commands
import Engine
import Foundation
import Pipeline
import Store
import Testing
import WorkspaceTestSupport

/// Receives run events and keeps them (the cluster tests read outcomes from the report).
final class CollectingDisplay: RunDisplay, @unchecked Sendable {
    private let lock = NSLock()
    private var events: [String] = []
    func handle(_ event: RunEvent) {
        lock.lock(); defer { lock.unlock() }
        events.append("\(event)")
    }
    func close() {}
    var all: [String] { lock.lock(); defer { lock.unlock() }; return events }
}

/// The Slurm executor's acceptance tests on a real one-node Slurm cluster (see `SlurmCluster`): the
/// command pipeline on Slurm gives the same keys and artifacts as a local run; a job killed with
/// scancel leaves no result and a rerun resubmits only what is missing; a failing stage fails the
/// run with its log tail shown. Serialized: they share the cluster's two cores.
@Suite("Slurm: runs on a real cluster", .serialized,
       .enabled(if: SlurmCluster.isUp, "no Slurm cluster: start one with scripts/slurm/start-local.sh (as root); the reason is printed above"))
struct SlurmClusterTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// Runs the fixture in-process with `executor`, into `storeRoot`.
    static func run(_ workspace: TestWorkspace, executor: any Executor, storeRoot: String) throws -> RunReport {
        let pipeline = try PipelineLoader.load(file: workspace.path(CommandPipelineFixture.pipelineFile))
        let store = try ArtifactStore(root: storeRoot)
        let session = RunSession(pipeline: pipeline, store: store, executor: executor, display: CollectingDisplay(),
                                 options: RunOptions(jobs: 2), runLabel: executor.name)
        return session.run()
    }

    @Test func slurmRunGivesTheSameKeysAndArtifactsAsALocalRun() throws {
        let workspace = try TestWorkspace.rlhfShaped("pipe-slurm-same")
        defer { workspace.remove() }
        let local = try Self.run(workspace, executor: LocalExecutor(), storeRoot: workspace.path("local-store"))
        let slurm = SlurmExecutor(configuration: SlurmConfiguration(), runLabel: "test-same")
        let remote = try Self.run(workspace, executor: slurm, storeRoot: workspace.path("slurm-store"))
        #expect(local.status == .succeeded)
        #expect(remote.status == .succeeded, "\(remote.outcomes)")

        for stage in CommandPipelineFixture.stageNames {
            guard case .ran(let localKey, _) = local.outcomes[stage], case .ran(let slurmKey, _) = remote.outcomes[stage] else {
                Issue.record("\(stage): local \(String(describing: local.outcomes[stage])), slurm \(String(describing: remote.outcomes[stage]))")
                continue
            }
            #expect(localKey == slurmKey, "\(stage): the executor must not be part of the key")
            let localRecord = try #require(local.records[stage]), slurmRecord = try #require(remote.records[stage])
            #expect(localRecord.outputs == slurmRecord.outputs, "\(stage): outputs differ")
            #expect(localRecord.log == slurmRecord.log, "\(stage): logs differ")
        }
        // Every stage was a Slurm job of its own, named after the run and the stage.
        let timings = slurm.timings
        #expect(Set(timings.map(\.stage)) == Set(CommandPipelineFixture.stageNames))
        let names = Set(SlurmCluster.jobs().map(\.name))
        for stage in CommandPipelineFixture.stageNames { #expect(names.contains("pipe-test-same-\(stage)")) }

        // Figures for the report: swift test --filter SlurmTests 2>&1 | grep 'slurm figures'
        let latencies = timings.compactMap { timing in timing.started.map { $0.timeIntervalSince(timing.submitted) } }
        let slurmPerStage = timings.compactMap { timing in timing.ended.map { $0.timeIntervalSince(timing.submitted) } }
        let localPerStage = local.outcomes.values.compactMap { if case .ran(_, let seconds) = $0 { seconds } else { nil } }
        func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
        let localTotal = local.finishedAt.timeIntervalSince(local.startedAt)
        let slurmTotal = remote.finishedAt.timeIntervalSince(remote.startedAt)
        print(String(format: "slurm figures: submit→start mean %.2f s (min %.2f, max %.2f); per stage mean %.2f s on Slurm vs %.3f s local (overhead %.2f s); 6-stage pipeline %.1f s on Slurm vs %.2f s local",
                     mean(latencies), latencies.min() ?? 0, latencies.max() ?? 0, mean(slurmPerStage), mean(localPerStage),
                     mean(slurmPerStage) - mean(localPerStage), slurmTotal, localTotal))
    }

    @Test func cancelledJobLeavesNoResultAndTheRerunResubmitsOnlyWhatIsMissing() throws {
        let workspace = try TestWorkspace.rlhfShaped("pipe-slurm-cancel", ppoSleepSeconds: 6)
        defer { workspace.remove() }
        let running = try pipe.start(["run", CommandPipelineFixture.pipelineFile, "--executor", "slurm"],
                                     in: workspace.root, environment: workspace.ledgerEnvironment)
        // Wait until ppo's command is running in its job (its ledger line is written: RUNNING in
        // squeue comes a little before the batch script starts), then cancel it the way a user or
        // an administrator would.
        let deadline = Date().addingTimeInterval(90)
        var cancelled: String?
        while cancelled == nil, Date() < deadline, running.process.isRunning {
            if workspace.ledger().contains("ppo"),
               let job = SlurmCluster.jobs().first(where: { $0.name.hasPrefix("pipe-") && $0.name.hasSuffix("-ppo") && $0.state == "RUNNING"
                                                            && $0.directory.hasPrefix(workspace.root + "/") }),
               !job.name.contains("test-same") {
                _ = try SlurmCommands().run("scancel", [job.id])
                cancelled = job.id
            } else {
                usleep(100_000)
            }
        }
        let first = running.finish()
        let jobID = try #require(cancelled, "the ppo job was never seen RUNNING: \(first)")
        #expect(first.status == 1, "\(first)")
        #expect(first.stdout.contains("ppo: FAILED"), "\(first)")
        #expect(first.stdout.contains("Slurm job \(jobID) on"), "\(first)")
        #expect(first.stdout.contains("was cancelled"), "\(first)")
        #expect(first.stdout.contains("eval: skipped (ppo failed)"), "\(first)")
        // No result for ppo: four records (tokens, sft, pairs, rm), no staging left behind.
        #expect(workspace.list("artifacts/stages").count == 4, "\(workspace.list("artifacts/stages"))")
        #expect(workspace.list("artifacts/tmp").isEmpty, "\(workspace.list("artifacts/tmp"))")
        #expect(workspace.ledger() == ["tokenise", "sft", "rm-pairs", "rm", "ppo"])  // kinds, as the commands log them

        try workspace.clearLedger()
        let second = try pipe.run(["run", CommandPipelineFixture.pipelineFile, "--executor", "slurm"],
                                  in: workspace.root, environment: workspace.ledgerEnvironment)
        #expect(second.status == 0, "\(second)")
        for stage in ["tokens", "sft", "pairs", "rm"] { #expect(second.stdout.contains("\(stage): cached"), "\(second)") }
        // Only the cancelled stage and the one it blocked ran, each as one new Slurm job.
        #expect(workspace.ledger() == ["ppo", "evaluate"])
        let runID = try #require(second.stdout.firstMatch(of: /run (\S+) ok/)?.1, "\(second)")
        let submitted = SlurmCluster.jobs().filter { $0.name.hasPrefix("pipe-\(runID)-") }.map { String($0.name.dropFirst("pipe-\(runID)-".count)) }
        #expect(submitted.sorted() == ["eval", "ppo"], "\(submitted)")
        #expect(workspace.list("artifacts/stages").count == 6)
    }

    @Test func failingStageFailsTheRunWithItsLogTail() throws {
        let workspace = try TestWorkspace.rlhfShaped("pipe-slurm-fail")
        defer { workspace.remove() }
        let result = try pipe.run(["run", CommandPipelineFixture.pipelineFile, "--executor", "slurm", "--set", "eval.fail=true"],
                                  in: workspace.root)
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("eval: FAILED"), "\(result)")
        #expect(result.stdout.contains("exited with status 3 in Slurm job"), "\(result)")
        #expect(result.stdout.contains("│ evaluating "), "\(result)")
        #expect(result.stdout.contains("│ error: reward model diverged (asked to fail)"), "\(result)")
        #expect(result.stdout.contains("--executor slurm"), "the rerun command keeps the executor: \(result)")
        #expect(workspace.list("artifacts/stages").count == 5)
        #expect(workspace.list("artifacts/tmp").isEmpty)
    }
}

extension SlurmClusterTests {
    /// Two `pipe run --executor slurm` of one pipeline at once, sharing one store: the per-key locks
    /// (flock on the store's filesystem) make each stage run as one job only; the other process waits
    /// for the key and reuses the result.
    @Test func twoConcurrentRunsBuildEachStageOnce() throws {
        let workspace = try TestWorkspace.rlhfShaped("pipe-slurm-twice")
        defer { workspace.remove() }
        let arguments = ["run", CommandPipelineFixture.pipelineFile, "--executor", "slurm"]
        let first = try pipe.start(arguments, in: workspace.root, environment: workspace.ledgerEnvironment)
        let second = try pipe.start(arguments, in: workspace.root, environment: workspace.ledgerEnvironment)
        let results = [first.finish(), second.finish()]
        for result in results { #expect(result.status == 0, "\(result)") }
        #expect(workspace.ledger().sorted() == ["evaluate", "ppo", "rm", "rm-pairs", "sft", "tokenise"], "each stage ran once")
        #expect(workspace.list("artifacts/stages").count == 6)
        #expect(workspace.list("artifacts/tmp").isEmpty)
    }
}

extension SlurmClusterTests {
    /// A built-in stage runs as `pipe _stage` inside the job; its events (progress, metrics) reach
    /// the scheduler through the events file, and its outputs and metrics equal a local run's.
    @Test func builtinStageRunsInTheJobLikeLocally() throws {
        let workspace = try TestWorkspace("pipe-slurm-builtin")
        defer { workspace.remove() }
        try workspace.write("stages/selftest.yaml", """
        kind: selftest
        version: 1
        doc: "The runner's self-test built-in."
        builtin: pipe-selftest
        outputs:
          out: { doc: the text it writes }
        params:
          text: { type: string, default: hi, doc: text to write }
          steps: { type: int, default: 3, doc: progress steps }
          sleep_ms: { type: int, default: 0, doc: pause per step }
          fail: { type: bool, default: false, doc: fail on purpose }

        """)
        try workspace.write("pipelines/builtin.yaml", """
        name: builtin
        seed: 3
        stages:
          st: { uses: selftest, with: { text: "written in a Slurm job", steps: 4, sleep_ms: 100 } }

        """)
        let slurm = try pipe.run(["run", "pipelines/builtin.yaml", "--executor", "slurm", "--store", "slurm-store"], in: workspace.root)
        let local = try pipe.run(["run", "pipelines/builtin.yaml", "--store", "local-store"], in: workspace.root)
        #expect(slurm.status == 0, "\(slurm)")
        #expect(local.status == 0, "\(local)")
        let slurmRecords = workspace.list("slurm-store/stages"), localRecords = workspace.list("local-store/stages")
        #expect(slurmRecords.count == 1 && slurmRecords == localRecords, "same key: \(slurmRecords) vs \(localRecords)")
        for name in slurmRecords {
            let fromSlurm = try JSONSerialization.jsonObject(with: Data(workspace.read("slurm-store/stages/" + name).utf8)) as! [String: Any]
            let fromLocal = try JSONSerialization.jsonObject(with: Data(workspace.read("local-store/stages/" + name).utf8)) as! [String: Any]
            #expect(fromSlurm["outputs"] as? [String: String] == fromLocal["outputs"] as? [String: String])
            #expect(fromSlurm["metrics"] as? [String: Double] == fromLocal["metrics"] as? [String: Double])
            #expect((fromSlurm["metrics"] as? [String: Double])?["selftest/value"] == 2.0, "metrics came back from the job")
        }
    }
}
