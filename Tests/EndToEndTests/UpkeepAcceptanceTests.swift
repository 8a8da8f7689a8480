import Commands
import Foundation
import Hashing
import Store
import Testing
import WorkspaceTestSupport

@Suite("pipe verify and pipe gc")
struct UpkeepAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    func run(_ workspace: TestWorkspace, _ extra: [String] = []) throws -> (PipeBinary.Result, [String]) {
        try workspace.clearLedger()
        let result = try pipe.run(["run", HistoryFixture.pipeline] + extra, in: workspace.root, environment: workspace.ledgerEnvironment)
        return (result, workspace.ledger())
    }

    @Test func flippedByteIsFoundByVerifyAndALaterRunRebuildsIt() throws {
        let workspace = try HistoryFixture.workspace("pipe-verify")
        defer { workspace.remove() }
        #expect(try run(workspace).0.status == 0)
        let clean = try pipe.run(["verify"], in: workspace.root)
        #expect(clean.status == 0 && clean.stdout.contains("store is intact"), "\(clean)")

        let store = try ArtifactStore(root: workspace.path("artifacts"), cleanTemporary: false)
        let registry = try store.openRegistry()
        let runID = try registry.resolveRunID("latest")
        let ppo = try #require(try registry.runDetails(id: runID).stages.first { $0.stage == "ppo" }?.outputs["model"])
        let path = store.objectPath(ppo)
        chmod(path, 0o644)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[3] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o444)

        let found = try pipe.run(["verify"], in: workspace.root)
        #expect(found.status == 1, "\(found)")
        #expect(found.stdout.contains("CORRUPT \(ppo.short)"), "\(found)")
        #expect(found.stdout.contains("(stage ppo)"), "\(found)")
        #expect(found.stdout.contains("affects run: \(runID)"), "\(found)")
        // evaluate read the ppo model: when the damage happened is unknown, so its result goes too.
        #expect(found.stdout.contains("(stage eval): built from corrupt object \(ppo.short)"), "\(found)")

        let (rebuild, ledger) = try run(workspace)
        #expect(rebuild.status == 0, "\(rebuild)")
        #expect(ledger == ["ppo", "evaluate"], "the corrupt output and what was built from it; executed \(ledger)")
        let after = try pipe.run(["verify"], in: workspace.root)
        #expect(after.status == 0, "\(after)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) != Data(bytes))
    }

    @Test func gcNeverDeletesWhatAKeptRunNamedRunOrLockFileNeeds() throws {
        let workspace = try HistoryFixture.workspace("pipe-gc")
        defer { workspace.remove() }
        #expect(try run(workspace).0.status == 0)                                   // A: named below
        #expect(try run(workspace, ["--set", "ppo.lr=3e-5"]).0.status == 0)          // B: not kept
        #expect(try run(workspace, ["--set", "ppo.lr=5e-5"]).0.status == 0)          // C: the last run (and the lock file)
        let store = try ArtifactStore(root: workspace.path("artifacts"), cleanTemporary: false)
        let registry = try store.openRegistry()
        let ids = try registry.listRuns().map(\.id)
        #expect(try pipe.run(["name", ids[2], "baseline"], in: workspace.root).status == 0)

        let objectsBefore = workspace.list("artifacts/objects")
        let dry = try pipe.run(["gc", "--keep-last", "1", "--grace", "0", "--dry-run"], in: workspace.root)
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.stdout.contains("would remove 2 stage results"), "\(dry)")
        #expect(workspace.list("artifacts/objects") == objectsBefore)

        let gc = try pipe.run(["gc", "--keep-last", "1", "--grace", "0"], in: workspace.root)
        #expect(gc.status == 0, "\(gc)")
        #expect(gc.stdout.contains("removed 2 stage results"), "\(gc)")
        // Everything the kept runs reference is still there.
        for id in [ids[0], ids[2]] {
            for execution in try registry.runDetails(id: id).stages {
                let key = try #require(Digest(hex: execution.key))
                #expect(store.record(forKey: key) != nil, "\(execution.stage) of \(id) lost its result")
            }
        }
        #expect(try run(workspace, ["--set", "ppo.lr=5e-5"]).1.isEmpty)
        #expect(try run(workspace).1.isEmpty)
        // B's PPO and evaluation results were collected: they run again.
        #expect(try run(workspace, ["--set", "ppo.lr=3e-5"]).1 == ["ppo", "evaluate"])
    }
}
