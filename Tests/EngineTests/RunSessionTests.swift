@testable import Engine
import Foundation
import Pipeline
@testable import Store
import Testing
import WorkspaceTestSupport

/// An executor that runs jobs locally but records what it was asked to run and how many ran at once:
/// the scheduler sees only the `Executor` protocol, as with the Slurm executor.
final class RecordingExecutor: Executor, @unchecked Sendable {
    let name = "recording"
    let pipeExecutable = "/bin/false"
    private let local = LocalExecutor(pipeExecutable: "/bin/false")
    private let lock = NSLock()
    private(set) var started: [String] = []
    private var current = 0
    private(set) var maxConcurrent = 0
    /// Stage name → the threads the scheduler gave it (`PIPE_THREADS`).
    private(set) var threads: [String: Int] = [:]

    func execute(_ job: StageJob) -> ExecutionOutcome {
        let given = job.environment.first { $0.hasPrefix("PIPE_THREADS=") }.flatMap { Int($0.dropFirst("PIPE_THREADS=".count)) }
        lock.lock(); started.append(job.stageName); current += 1; maxConcurrent = max(maxConcurrent, current)
        threads[job.stageName] = given; lock.unlock()
        defer { lock.lock(); current -= 1; lock.unlock() }
        return local.execute(job)
    }

    func interrupt() { local.interrupt() }
}

final class RecordingDisplay: RunDisplay, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var lines: [String] = []
    func handle(_ event: RunEvent) {
        lock.lock(); defer { lock.unlock() }
        switch event {
        case .cached(let s): lines.append("cached \(s)")
        case .started(let s): lines.append("started \(s)")
        case .finished(let s, _, _): lines.append("finished \(s)")
        case .failed(let s, _, _, _, _): lines.append("failed \(s)")
        case .skipped(let s, let because): lines.append("skipped \(s) (\(because))")
        default: break
        }
    }
    func close() {}
}

@Suite("Scheduler")
struct RunSessionTests {
    static let pipelineText = """
    name: diamond
    stages:
      a:    { run: "sleep 0.3; echo a > ${outs.x}", outs: [x] }
      b:    { run: "sleep 0.3; echo b > ${outs.x}", outs: [x] }
      join: { run: "cat ${inputs.a} ${inputs.b} > ${outs.x}", inputs: { a: a.x, b: b.x }, outs: [x] }

    """

    func session(_ workspace: TestWorkspace, jobs: Int, executor: RecordingExecutor, display: RecordingDisplay,
                 text: String = pipelineText, runtime: StageRuntime = .commandsOnly,
                 threads: Int? = nil, cores: Int? = nil) throws -> RunSession {
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/p.yaml", text)
        let pipeline = try PipelineLoader.load(file: workspace.path("pipelines/p.yaml"))
        let store = try ArtifactStore(root: workspace.path("artifacts"))
        return RunSession(pipeline: pipeline, store: store, executor: executor, display: display,
                          options: RunOptions(jobs: jobs, threads: threads, cores: cores, runtime: runtime))
    }

    /// Cores are shared out when stages start: two stages ready together split them, the stage that
    /// runs alone gets them all, `--threads` caps a stage; and the thread count is not in any key, so
    /// a run with other thread settings finds everything cached.
    @Test func readyStagesShareTheCoresAndThreadsStayOutOfTheKey() throws {
        let workspace = try TestWorkspace("pipe-runner-session-threads")
        defer { workspace.remove() }
        var executor = RecordingExecutor()
        let report = try session(workspace, jobs: 4, executor: executor, display: RecordingDisplay(), cores: 4).run()
        #expect(report.status == .succeeded)
        #expect(executor.threads == ["a": 2, "b": 2, "join": 4])

        executor = RecordingExecutor()
        let display = RecordingDisplay()
        let again = try session(workspace, jobs: 1, executor: executor, display: display, threads: 1, cores: 2).run()
        #expect(executor.started.isEmpty && display.lines.filter { $0.hasPrefix("cached") }.count == 3)
        #expect(again.records.mapValues(\.key) == report.records.mapValues(\.key))

        let options = RunOptions(threads: 3, cores: 4)
        #expect(options.jobs == 4, "one stage per core by default")
        #expect(options.coreShares(stages: 1, busy: 0) == [3], "--threads caps a stage")
        #expect(options.coreShares(stages: 2, busy: 0) == [2, 2])
        #expect(options.coreShares(stages: 3, busy: 2) == [1, 1, 1], "at least one thread each")
        #expect(RunOptions(cores: 8).coreShares(stages: 1, busy: 0) == [8], "a lone stage gets every core")
    }

    /// With one slot, the ready stage with the longest chain behind it starts first, whatever its
    /// place in the file: the short leaves wait and fill the cores at the end.
    @Test func theLongestRemainingChainStartsFirst() throws {
        let workspace = try TestWorkspace("pipe-runner-session-priority")
        defer { workspace.remove() }
        let text = """
        name: priority
        stages:
          leaf1: { run: "echo 1 > ${outs.x}", outs: [x] }
          leaf2: { run: "echo 2 > ${outs.x}", outs: [x] }
          root:  { run: "echo r > ${outs.x}", outs: [x] }
          mid:   { run: "cat ${inputs.r} > ${outs.x}", inputs: { r: root.x }, outs: [x] }
          leaf3: { run: "cat ${inputs.r} ${inputs.r} > ${outs.x}", inputs: { r: root.x }, outs: [x] }
          tail:  { run: "cat ${inputs.m} > ${outs.x}", inputs: { m: mid.x }, outs: [x] }

        """
        let executor = RecordingExecutor()
        let report = try session(workspace, jobs: 1, executor: executor, display: RecordingDisplay(), text: text).run()
        #expect(report.status == .succeeded)
        // Then ties (one stage left on each chain) in file order.
        #expect(executor.started == ["root", "mid", "leaf1", "leaf2", "leaf3", "tail"])
        #expect(RunSession.chainLengths(dependents: [[], [], [3, 4], [5], [], []]) == [1, 1, 3, 2, 1, 1])
    }

    /// Built-in kinds and the numeric environment come from the runtime the executable passes in:
    /// a kind it lacks fails when keyed (nothing starts), a kind it has is keyed with its BLAS.
    @Test func builtinStagesAreKeyedWithTheRuntimesNumericsOrFailWithoutIt() throws {
        let workspace = try TestWorkspace("pipe-runner-session-builtin")
        defer { workspace.remove() }
        try workspace.write("stages/probe.yaml", """
        kind: probe
        version: 1
        doc: a built-in this test binary does not have
        builtin: probe
        outputs:
          out: { doc: anything }

        """)
        let text = """
        name: builtin
        stages:
          a: { run: "echo a > ${outs.x}", outs: [x] }
          b: { uses: probe }

        """
        var executor = RecordingExecutor()
        var report = try session(workspace, jobs: 1, executor: executor, display: RecordingDisplay(), text: text).run()
        #expect(report.status == .failed)
        #expect(executor.started == ["a"], "an unknown built-in never starts")
        guard case .failed(_, let reason)? = report.outcomes["b"] else { Issue.record("\(report.outcomes)"); return }
        #expect(reason == "no built-in stage named 'probe' in this pipe binary (none are registered)")
        #expect(report.materials["a"]?.environment.map(\.name) == ["arch"], "commands leave BLAS out; threads are never key material")

        let runtime = StageRuntime(builtinKinds: ["probe"], numeric: NumericEnvironment(blas: "TestBLAS core=x", kernelSignature: "x"))
        executor = RecordingExecutor()
        report = try session(workspace, jobs: 1, executor: executor, display: RecordingDisplay(), text: text, runtime: runtime).run()
        #expect(executor.started == ["b"], "keyed and started (the recording executor's pipe is /bin/false, so it fails)")
        #expect(report.materials["b"]?.environment.first { $0.name == "blas" }?.value == "TestBLAS core=x")
    }

    @Test func independentStagesRunInParallelUpToJobs() throws {
        for jobs in [1, 2] {
            let workspace = try TestWorkspace("pipe-runner-session")
            defer { workspace.remove() }
            let executor = RecordingExecutor(), display = RecordingDisplay()
            let report = try session(workspace, jobs: jobs, executor: executor, display: display).run()
            #expect(report.status == .succeeded)
            #expect(executor.maxConcurrent == jobs)
            #expect(executor.started.last == "join")
            #expect(Set(executor.started) == ["a", "b", "join"])
        }
    }

    @Test func secondSessionTakesEverythingFromTheStore() throws {
        let workspace = try TestWorkspace("pipe-runner-session-cache")
        defer { workspace.remove() }
        _ = try session(workspace, jobs: 2, executor: RecordingExecutor(), display: RecordingDisplay()).run()
        let executor = RecordingExecutor(), display = RecordingDisplay()
        let report = try session(workspace, jobs: 2, executor: executor, display: display).run()
        #expect(executor.started.isEmpty)
        #expect(display.lines == ["cached a", "cached b", "cached join"])
        #expect(report.outcomes.values.allSatisfy { if case .cached = $0 { true } else { false } })
    }

    /// The session that reads the records saves them to the record index; the next one takes every
    /// hit from it (a stat, no record read) and reports the very same records.
    @Test func aNoOpRunAfterTheIndexIsSavedGetsTheSameRecordsFromIt() throws {
        let workspace = try TestWorkspace("pipe-runner-session-index")
        defer { workspace.remove() }
        _ = try session(workspace, jobs: 2, executor: RecordingExecutor(), display: RecordingDisplay()).run()
        usleep(300_000)  // records younger than the racy window are not indexed
        let second = try session(workspace, jobs: 2, executor: RecordingExecutor(), display: RecordingDisplay()).run()
        let indexFiles = try FileManager.default.contentsOfDirectory(atPath: workspace.path("artifacts/statcache")).filter { $0.hasSuffix(".records") }
        #expect(indexFiles.count == 1, "saved at the end of the run")
        let executor = RecordingExecutor(), display = RecordingDisplay()
        let store = try ArtifactStore(root: workspace.path("artifacts"))
        for (name, record) in second.records {
            let path = store.recordPath(forKey: record.key)
            let status = try #require(try POSIX.status(path, followSymlinks: true))
            #expect(store.recordIndex.lookup(record.key, identity: RecordIndex.Identity(status), recordPath: path) != nil, "\(name) indexed")
        }
        let third = try session(workspace, jobs: 2, executor: executor, display: display).run()
        #expect(executor.started.isEmpty)
        #expect(display.lines == ["cached a", "cached b", "cached join"])
        #expect(third.records.count == 3)
        for (name, record) in second.records { #expect(third.records[name] == record) }
    }

    @Test func failureSkipsDependentsButNotIndependentStages() throws {
        let workspace = try TestWorkspace("pipe-runner-session-fail")
        defer { workspace.remove() }
        let text = """
        name: failing
        stages:
          a:    { run: "exit 1", outs: [x] }
          b:    { run: "echo b > ${outs.x}", outs: [x] }
          join: { run: "cat ${inputs.a} ${inputs.b} > ${outs.x}", inputs: { a: a.x, b: b.x }, outs: [x] }
          more: { run: "cat ${inputs.j} > ${outs.x}", inputs: { j: join.x }, outs: [x] }

        """
        let executor = RecordingExecutor(), display = RecordingDisplay()
        let report = try session(workspace, jobs: 1, executor: executor, display: display, text: text).run()
        #expect(report.status == .failed)
        #expect(report.status.exitCode == 1)
        #expect(executor.started == ["a", "b"])
        #expect(display.lines.contains("skipped join (a failed)"))
        #expect(display.lines.contains("skipped more (a failed)"))
        #expect(report.outcomes["b"].map { if case .ran = $0 { true } else { false } } == true)
    }

    @Test func interruptStopsRunningStagesAndStartsNothingElse() throws {
        let workspace = try TestWorkspace("pipe-runner-session-int")
        defer { workspace.remove() }
        let text = """
        name: slow
        stages:
          slow:  { run: "sleep 20; echo > ${outs.x}", outs: [x] }
          after: { run: "cat ${inputs.x} > ${outs.x}", inputs: { x: slow.x }, outs: [x] }

        """
        let executor = RecordingExecutor(), display = RecordingDisplay()
        let session = try session(workspace, jobs: 1, executor: executor, display: display, text: text)
        Thread.detachNewThread { usleep(400_000); session.interrupt() }
        let start = Date()
        let report = session.run()
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(report.status == .interrupted)
        #expect(report.status.exitCode == 130)
        #expect(executor.started == ["slow"])
        #expect(workspace.list("artifacts/stages").isEmpty)
        #expect(workspace.list("artifacts/tmp").isEmpty)
    }
}
