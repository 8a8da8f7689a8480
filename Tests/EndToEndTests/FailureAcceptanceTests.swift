import Commands
import Foundation
import Store
import Testing
import WorkspaceTestSupport

/// Failures, kills, interrupts and concurrent `pipe` processes leave the store consistent.
@Suite("pipe run: failures, kills and concurrency")
struct FailureAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    @Test func failingStageShowsItsLogTailAndTheRerunCommandAndSkipsItsDependents() throws {
        let workspace = try TestWorkspace("pipe-e2e-fail")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/branches.yaml", """
        name: branches
        stages:
          broken: { run: "echo preparing; echo 'fatal: no GPU found' >&2; exit 4", outs: [x] }
          after:  { run: "cat ${inputs.x} > ${outs.y}", inputs: { x: broken.x }, outs: [y] }
          other:  { run: "echo fine > ${outs.z}", outs: [z] }
          late:   { run: "cat ${inputs.z} > ${outs.w}", inputs: { z: other.z }, outs: [w] }

        """)
        let result = try pipe.run(["run", "pipelines/branches.yaml", "-j", "1"], in: workspace.root)
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("broken: FAILED"), "\(result)")
        #expect(result.stdout.contains("exited with status 4"), "\(result)")
        #expect(result.stdout.contains("│ preparing"), "\(result)")
        #expect(result.stdout.contains("│ fatal: no GPU found"), "\(result)")
        #expect(result.stdout.contains("pipe run pipelines/branches.yaml"), "\(result)")
        #expect(result.stdout.contains("after: skipped (broken failed)"), "\(result)")
        // The independent branch still ran.
        #expect(result.stdout.contains("other: ran"), "\(result)")
        #expect(result.stdout.contains("late: ran"), "\(result)")
        #expect(workspace.list("artifacts/stages").count == 2)

        // The failed stage left no object, but its log is kept under the run for `pipe log`,
        // until gc drops the run.
        let log = try pipe.run(["log", "latest", "broken"], in: workspace.root)
        #expect(log.status == 0 && log.stdout.contains("fatal: no GPU found"), "\(log)")
        #expect(workspace.list("artifacts/logs/failed").count == 1)
        let gc = try pipe.run(["gc", "--keep-last", "0", "--grace", "0"], in: workspace.root)
        #expect(gc.status == 0 && gc.stdout.contains("failed-stage logs of 1 run"), "\(gc)")
        #expect(workspace.list("artifacts/logs/failed").isEmpty, "\(gc)")
    }

    @Test func anUnknownDecodeKernelPathIsAUsageErrorNamingTheVariable() throws {
        let workspace = try TestWorkspace("pipe-e2e-decode-path")
        defer { workspace.remove() }
        let result = try pipe.run(["runs"], in: workspace.root, environment: ["PIPE_DECODE_GEMM": "fast"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr == "error: PIPE_DECODE_GEMM=fast: expected one of auto, avx2-fma-v2, openblas\n", "\(result)")
    }

    @Test func missingDeclaredOutputFailsTheStage() throws {
        let workspace = try TestWorkspace("pipe-e2e-missing")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/lazy.yaml", "name: lazy\nstages:\n  lazy: { run: \"echo forgot > elsewhere.txt\", outs: [result] }\n")
        let result = try pipe.run(["run", "pipelines/lazy.yaml"], in: workspace.root)
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("did not write its declared output 'result'"), "\(result)")
        #expect(workspace.list("artifacts/stages").isEmpty)
        #expect(workspace.list("artifacts/objects").isEmpty)
    }

    /// Objects the stage records reference (outputs and logs), as hex digests.
    static func referencedObjects(_ workspace: TestWorkspace) throws -> Set<String> {
        let store = try ArtifactStore(root: workspace.path("artifacts"), cleanTemporary: false)
        var digests: Set<String> = []
        for file in workspace.list("artifacts/stages") where file.hasSuffix(".json") {
            let data = try Data(contentsOf: URL(fileURLWithPath: workspace.path("artifacts/stages/" + file)))
            let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            for digest in (object["outputs"] as? [String: String] ?? [:]).values { digests.insert(digest) }
            if let log = object["log"] as? String { digests.insert(log) }
            _ = store
        }
        return digests
    }

    /// Waits until the fixture's ppo command has started and returns its shell's pid.
    static func waitForPPO(_ workspace: TestWorkspace, timeout: Double = 30) throws -> Int32 {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            let lines = ((try? workspace.read(CommandPipelineFixture.ledgerFile)) ?? "").split(separator: "\n")
            if let line = lines.first(where: { $0.hasPrefix("ppo ") }), let pid = Int32(line.split(separator: " ")[1]) {
                return pid
            }
            usleep(20_000)
        }
        throw TestSupportError("ppo never started")
    }

    @Test func sigkillOfARunningStageLeavesNoRecordAndNoObjectAndOnlyThatStageReruns() throws {
        let workspace = try TestWorkspace.rlhfShaped("pipe-e2e-kill", ppoSleepSeconds: 1)
        defer { workspace.remove() }
        try workspace.clearLedger()
        let running = try pipe.start(["run", CommandPipelineFixture.pipelineFile], in: workspace.root,
                                     environment: workspace.ledgerEnvironment)
        let shell = try Self.waitForPPO(workspace)
        #expect(kill(-getpgid(shell), SIGKILL) == 0)  // the stage's whole process group (with its watchdog)
        let result = running.finish()
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("ppo: FAILED"), "\(result)")
        #expect(result.stdout.contains("SIGKILL"), "\(result)")

        #expect(workspace.list("artifacts/stages").count == 4, "only tokens, sft, pairs and rm have records")
        #expect(Set(workspace.list("artifacts/objects")) == (try Self.referencedObjects(workspace)),
                "every object belongs to a committed record: the killed stage left none")
        #expect(workspace.list("artifacts/tmp").isEmpty, "staging was removed")

        try workspace.clearLedger()
        let rerun = try pipe.run(["run", CommandPipelineFixture.pipelineFile], in: workspace.root, environment: workspace.ledgerEnvironment)
        #expect(rerun.status == 0, "\(rerun)")
        #expect(workspace.ledger() == ["ppo", "evaluate"], "evaluate never ran before; nothing else reruns")
    }

    @Test func interruptStopsTheStageRecordsTheRunAsInterruptedAndExits130() throws {
        let workspace = try TestWorkspace.rlhfShaped("pipe-e2e-int", ppoSleepSeconds: 30)
        defer { workspace.remove() }
        try workspace.clearLedger()
        let started = Date()
        let running = try pipe.start(["run", CommandPipelineFixture.pipelineFile], in: workspace.root,
                                     environment: workspace.ledgerEnvironment)
        _ = try Self.waitForPPO(workspace)
        running.signal(SIGINT)
        let result = running.finish()
        #expect(result.status == 130, "\(result)")
        #expect(Date().timeIntervalSince(started) < 20, "the 30 s stage was stopped, not waited for")
        #expect(result.stdout.contains("ppo: interrupted"), "\(result)")
        #expect(workspace.list("artifacts/stages").count == 4)
        #expect(Set(workspace.list("artifacts/objects")) == (try Self.referencedObjects(workspace)))
        #expect(workspace.list("artifacts/tmp").isEmpty, "staging was removed")
        let runs = try pipe.run(["runs"], in: workspace.root)
        #expect(runs.stdout.contains("interrupted"), "\(runs)")
    }

    @Test func twoConcurrentRunsOnOneStoreExecuteEachStageOnce() throws {
        let workspace = try TestWorkspace.rlhfShaped("pipe-e2e-concurrent")
        defer { workspace.remove() }
        try workspace.clearLedger()
        let a = try pipe.start(["run", CommandPipelineFixture.pipelineFile], in: workspace.root, environment: workspace.ledgerEnvironment)
        let b = try pipe.start(["run", CommandPipelineFixture.pipelineFile], in: workspace.root, environment: workspace.ledgerEnvironment)
        let resultA = a.finish(), resultB = b.finish()
        #expect(resultA.status == 0, "\(resultA)")
        #expect(resultB.status == 0, "\(resultB)")
        #expect(workspace.ledger().sorted() == RunAcceptanceTests.allKinds.sorted(), "each stage executed exactly once")

        let store = try ArtifactStore(root: workspace.path("artifacts"), cleanTemporary: false)
        let report = try store.verify(quarantine: false)
        #expect(report.corrupted.isEmpty)
        #expect(report.checkedObjects == (try Self.referencedObjects(workspace)).count)
        #expect(workspace.list("artifacts/stages").count == 6)
    }
}
