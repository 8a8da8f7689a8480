import Commands
import Foundation
import Store
import Testing
import WorkspaceTestSupport

@Suite("pipe runs / show / diff / log / name and lock files")
struct HistoryAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    func runIDs(_ workspace: TestWorkspace) throws -> [String] {
        try ArtifactStore(root: workspace.path("artifacts"), cleanTemporary: false).openRegistry().listRuns().map(\.id).reversed()
    }

    @Test func runsShowDiffAndLogDescribeRecordedRuns() throws {
        let workspace = try HistoryFixture.workspace("pipe-history")
        defer { workspace.remove() }
        #expect(try pipe.run(["run", HistoryFixture.pipeline], in: workspace.root).status == 0)
        #expect(try pipe.run(["run", HistoryFixture.pipeline, "--set", "ppo.lr=3e-5"], in: workspace.root).status == 0)
        let ids = try runIDs(workspace)
        #expect(ids.count == 2)

        let runs = try pipe.run(["runs"], in: workspace.root)
        #expect(runs.status == 0, "\(runs)")
        #expect(runs.stdout.contains("eval.score=0.1"), "\(runs)")          // 1.41e-5·10⁴ − 0.2 = -0.059, 3e-5 → 0.1
        #expect(runs.stdout.contains("eval.score=-0.059"), "\(runs)")
        #expect(runs.stdout.contains("store: "), "\(runs)")

        let show = try pipe.run(["show", ids[1]], in: workspace.root)
        #expect(show.status == 0, "\(show)")
        #expect(show.stdout.contains("ppo") && show.stdout.contains("ran") && show.stdout.contains("cached"), "\(show)")

        let diff = try pipe.run(["diff", ids[0], ids[1], "--all"], in: workspace.root)
        #expect(diff.status == 0, "\(diff)")
        let lines = diff.stdout.split(separator: "\n").map(String.init)
        let lr = lines.first { $0.contains("ppo.lr") }
        #expect(lr?.contains("1.41e-05") == true && lr?.contains("3e-05") == true && lr?.hasSuffix("*") == true, "\(diff)")
        let kl = lines.first { $0.contains("ppo.init_kl_coef") }
        #expect(kl?.hasSuffix("*") == false, "unchanged param marked changed: \(diff)")
        #expect(lines.first { $0.contains("eval.score") }?.hasSuffix("*") == true, "\(diff)")
        #expect(lines.first { $0.contains("tokens key") }?.hasSuffix("*") == false, "\(diff)")
        for arguments in [["diff", ids[0], ids[1]], ["diff", ids[0], ids[1], "--only-changed"]] {
            let onlyChanged = try pipe.run(arguments, in: workspace.root)
            #expect(onlyChanged.stdout.contains("ppo.lr") && !onlyChanged.stdout.contains("ppo.init_kl_coef"), "\(onlyChanged)")
        }

        let log = try pipe.run(["log", ids[1], "eval"], in: workspace.root)
        #expect(log.status == 0, "\(log)")
        #expect(log.stdout.contains("evaluating policy lr=3e-05 kl=0.2: score 0.100000"), "\(log)")
        let badStage = try pipe.run(["log", ids[1], "evl"], in: workspace.root)
        #expect(badStage.status == 2 && badStage.stderr.contains("did you mean 'eval'"), "\(badStage)")

        #expect(try pipe.run(["name", ids[0], "baseline"], in: workspace.root).status == 0)
        let named = try pipe.run(["log", "baseline", "eval"], in: workspace.root)
        #expect(named.stdout.contains("lr=1.41e-05"), "\(named)")
    }

    /// A `--force` rerun replaces the key's stored record; `show` of the earlier run must not print the
    /// later execution's CPU time as its own.
    @Test func showPrintsCPUTimeOnlyForTheExecutionThatRecordedIt() throws {
        let workspace = try HistoryFixture.workspace("pipe-show-cpu")
        defer { workspace.remove() }
        #expect(try pipe.run(["run", HistoryFixture.pipeline], in: workspace.root).status == 0)
        #expect(try pipe.run(["run", HistoryFixture.pipeline, "--force", "eval"], in: workspace.root).status == 0)
        let ids = try runIDs(workspace)
        func evalLine(_ id: String) throws -> String {
            let show = try pipe.run(["show", id], in: workspace.root)
            return show.stdout.split(separator: "\n").map(String.init).first { $0.hasPrefix("  eval ") } ?? "(no eval line in \(show))"
        }
        let first = try evalLine(ids[0]), second = try evalLine(ids[1])
        #expect(first.contains(" ran ") && !first.contains("(CPU "), "\(first)")
        #expect(second.contains(" ran ") && second.contains("(CPU "), "\(second)")
    }

    @Test func lockFileIsWrittenAfterEachSuccessfulRunDeterministically() throws {
        let workspace = try HistoryFixture.workspace("pipe-lock")
        defer { workspace.remove() }
        #expect(try pipe.run(["run", HistoryFixture.pipeline], in: workspace.root).status == 0)
        let lockPath = "pipelines/rlhf.lock"
        let first = try workspace.read(lockPath)
        #expect(first.contains("schema: pipe.lock.v2"))
        for stage in CommandPipelineFixture.stageNames { #expect(first.contains("\n  \(stage):\n"), "\(stage) missing:\n\(first)") }
        #expect(first.contains("      lr: 1.41e-05\n"), "\(first)")
        #expect(first.contains("      data/corpus.txt: "), "\(first)")

        // A cached rerun writes the same bytes.
        #expect(try pipe.run(["run", HistoryFixture.pipeline], in: workspace.root).status == 0)
        #expect(try workspace.read(lockPath) == first)

        // The lock's records match the registry's.
        let lock = try LockFile.read(path: workspace.path(lockPath))
        let registry = try ArtifactStore(root: workspace.path("artifacts"), cleanTemporary: false).openRegistry()
        let details = try registry.runDetails(id: registry.resolveRunID("latest"))
        for execution in details.stages {
            let recorded = lock.variants[0].stages.first { $0.name == execution.stage }
            #expect(recorded?.key == execution.key)
            #expect(recorded?.outputs.map(\.digest) == execution.outputs.keys.sorted().map { execution.outputs[$0]!.hex })
        }

        // Changing one PPO param changes only the ppo and eval entries.
        #expect(try pipe.run(["run", HistoryFixture.pipeline, "--set", "ppo.lr=3e-5"], in: workspace.root).status == 0)
        let changed = try LockFile.read(path: workspace.path(lockPath))
        for (old, new) in zip(lock.variants[0].stages, changed.variants[0].stages) {
            #expect((old == new) == !["ppo", "eval"].contains(old.name), "\(old.name)")
        }

        // A failed run leaves the lock alone.
        let before = try workspace.read(lockPath)
        #expect(try pipe.run(["run", HistoryFixture.pipeline, "--set", "ppo.lr=7e-5", "--set", "eval.nondeterministic=maybe"],
                             in: workspace.root).status == 2)
        try workspace.write("stages/ppo.yaml", try workspace.read("stages/ppo.yaml").replacingOccurrences(of: "sleep ${params.sleep};", with: "exit 4;"))
        #expect(try pipe.run(["run", HistoryFixture.pipeline, "--set", "ppo.lr=7e-5"], in: workspace.root).status == 1)
        #expect(try workspace.read(lockPath) == before)
    }
}
