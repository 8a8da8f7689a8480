@testable import Engine
import Foundation
import Pipeline
import StageWire
import Store
import Testing
import WorkspaceTestSupport

/// Stands in for built-in stages: follows each one's thread budget file as a stage's pool would and
/// ends it once the budget reads `until[stage]` (commands run for real).
final class BudgetFollowingExecutor: Executor, @unchecked Sendable {
    let name = "budget-following"
    let pipeExecutable = "/bin/false"
    let sharesCores: Bool
    private let until: [String: Int]
    private let local = LocalExecutor(pipeExecutable: "/bin/false")
    private let lock = NSLock()
    /// Stage name → the budgets it saw, in order (consecutive repeats folded).
    private(set) var budgets: [String: [Int]] = [:]
    /// Stage name → whether its invocation named a budget file.
    private(set) var hadBudgetFile: [String: Bool] = [:]

    init(sharesCores: Bool, until: [String: Int]) {
        self.sharesCores = sharesCores
        self.until = until
    }

    func execute(_ job: StageJob) -> ExecutionOutcome {
        guard case .builtin(let invocationPath) = job.program else { return local.execute(job) }
        guard let data = FileManager.default.contents(atPath: invocationPath),
              let invocation = try? JSONDecoder().decode(StageInvocation.self, from: data) else { return .failed("no invocation") }
        for path in invocation.outputs.values {
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        var seen = [invocation.threads]
        defer {
            lock.lock(); budgets[job.stageName] = seen; hadBudgetFile[job.stageName] = invocation.threadBudgetPath != nil; lock.unlock()
        }
        guard let path = invocation.threadBudgetPath, let target = until[job.stageName] else { return .succeeded() }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let budget = ThreadBudgetFile.read(path), budget != seen.last { seen.append(budget) }
            if seen.last == target { return .succeeded() }
            usleep(2_000)
        }
        return .failed("the budget never reached \(target) (saw \(seen))")
    }

    func interrupt() { local.interrupt() }
}

/// Records the threads the scheduler announces and checks, at every event, that the grants of the
/// running stages never add up to more than the cores.
final class GrantDisplay: RunDisplay, @unchecked Sendable {
    let cores: Int
    private let lock = NSLock()
    private var current: [String: Int] = [:]
    private(set) var announced: [String: [Int]] = [:]
    private(set) var mostHeld = 0

    init(cores: Int) { self.cores = cores }

    func handle(_ event: RunEvent) {
        lock.lock(); defer { lock.unlock() }
        switch event {
        case .threads(let stage, let count):
            current[stage] = count
            announced[stage, default: []].append(count)
        case .finished(let stage, _, _), .failed(let stage, _, _, _, _), .interrupted(let stage):
            current[stage] = nil
        default: return
        }
        mostHeld = max(mostHeld, current.values.reduce(0, +))
    }
    func close() {}
}

@Suite("Elastic threads")
struct ElasticThreadsTests {
    static let probe = """
    kind: probe
    version: 1
    doc: a built-in the test executor stands in for
    builtin: probe
    outputs:
      out: { doc: anything }

    """

    func run(_ text: String, executor: BudgetFollowingExecutor, display: GrantDisplay, jobs: Int,
             name: String) throws -> RunReport {
        let workspace = try TestWorkspace(name)
        defer { workspace.remove() }
        try workspace.write("stages/probe.yaml", Self.probe)
        try workspace.write("pipelines/p.yaml", text)
        let pipeline = try PipelineLoader.load(file: workspace.path("pipelines/p.yaml"))
        let store = try ArtifactStore(root: workspace.path("artifacts"))
        let runtime = StageRuntime(builtinKinds: ["probe"], numeric: NumericEnvironment(blas: "TestBLAS core=x", kernelSignature: "x"))
        return RunSession(pipeline: pipeline, store: store, executor: executor, display: display,
                          options: RunOptions(jobs: jobs, cores: display.cores, runtime: runtime)).run()
    }

    /// The flagship's case: a built-in starts beside another stage on half the cores and gets them
    /// all once that stage ends, through its budget file, while it runs.
    @Test func aRunningBuiltInGetsTheCoresAStageLeaves() throws {
        let text = """
        name: raise
        stages:
          long:  { uses: probe }
          short: { run: "sleep 0.3; echo s > ${outs.x}", outs: [x] }

        """
        let executor = BudgetFollowingExecutor(sharesCores: true, until: ["long": 2])
        let display = GrantDisplay(cores: 2)
        let report = try run(text, executor: executor, display: display, jobs: 2, name: "pipe-elastic-raise")
        #expect(report.status == .succeeded, "\(report.outcomes)")
        #expect(executor.budgets["long"] == [1, 2])
        #expect(display.announced["long"] == [1, 2] && display.announced["short"] == [1])
        #expect(display.mostHeld <= 2)
    }

    /// Cores move both ways: a built-in running on 2 of 4 cores drops to 1 when two more stages start
    /// (fair shares), then takes every core once it runs alone; the grants never exceed the cores.
    @Test func grantsFallWhenStagesStartAndRiseWhenTheyEnd() throws {
        let text = """
        name: both-ways
        stages:
          e: { uses: probe }
          a: { run: "sleep 0.2; echo a > ${outs.x}", outs: [x] }
          b: { run: "sleep 2; echo b > ${outs.x}", outs: [x] }
          c: { run: "sleep 0.3; cat ${inputs.a} > ${outs.x}", inputs: { a: a.x }, outs: [x] }
          d: { run: "sleep 0.3; cat ${inputs.a} > ${outs.x}", inputs: { a: a.x }, outs: [x] }

        """
        let executor = BudgetFollowingExecutor(sharesCores: true, until: ["e": 4])
        let display = GrantDisplay(cores: 4)
        let report = try run(text, executor: executor, display: display, jobs: 4, name: "pipe-elastic-both-ways")
        #expect(report.status == .succeeded, "\(report.outcomes)")
        let seen = executor.budgets["e"] ?? []
        #expect(seen.first == 2, "e, a, b share 4 cores: 2, 1, 1 (\(seen))")
        #expect(seen.count > 2 && seen[1] == 1, "c and d start: 1 each for e, b, c, d (\(seen))")
        #expect(seen.last == 4, "alone at the end (\(seen))")
        #expect(display.announced["e"] == seen)
        #expect(display.mostHeld <= 4)
    }

    /// A batch executor's stages keep what they were allocated: no budget file, no changes.
    @Test func stagesOfAnExecutorThatDoesNotShareTheCoresKeepTheirThreads() throws {
        let text = """
        name: fixed
        stages:
          long:  { uses: probe }
          short: { run: "sleep 0.2; echo s > ${outs.x}", outs: [x] }

        """
        let executor = BudgetFollowingExecutor(sharesCores: false, until: ["long": 2])
        let display = GrantDisplay(cores: 2)
        let report = try run(text, executor: executor, display: display, jobs: 2, name: "pipe-elastic-fixed")
        #expect(report.status == .succeeded)
        #expect(executor.hadBudgetFile["long"] == false && executor.budgets["long"] == [1])
        #expect(display.announced["long"] == [1])
    }

    @Test func coreSharesAreFairAndNeverExceedTheFreeCores() {
        let options = RunOptions(cores: 4)
        #expect(options.coreShares(stages: 3, busy: 0) == [2, 1, 1], "the remainder to the first in pipeline order")
        #expect(options.coreShares(stages: 1, busy: 1) == [3])
        #expect(options.coreShares(stages: 2, busy: 4) == [1, 1], "at least one thread each")
        #expect(options.coreShares(stages: 0, busy: 0).isEmpty)
        #expect(RunOptions(threads: 2, cores: 8).coreShares(stages: 2, busy: 0) == [2, 2], "--threads caps a stage")
    }
}
