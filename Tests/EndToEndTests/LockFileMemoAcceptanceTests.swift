import Foundation
import Testing
import WorkspaceTestSupport

/// A no-op rerun skips rendering a lock file it knows is current (`statcache/<host>.written`), and
/// never at the price of a stale one: an edited lock file is restored, a changed result rewrites it.
@Suite("Lock files are rendered only when they may have changed")
struct LockFileMemoAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    static let sweep = ["--sweep", "ppo.lr=1e-5,3e-5", "--set", "eval.nondeterministic=true"]
    static let lock = "pipelines/rlhf.sweep.lock"

    /// Past the racy window, so the memo may remember the file as it is.
    func settle() { usleep(250_000) }

    func modified(_ workspace: TestWorkspace, _ relative: String) throws -> Date {
        try #require(try FileManager.default.attributesOfItem(atPath: workspace.path(relative))[.modificationDate] as? Date)
    }

    @Test func anEditedLockFileIsRestoredAndANewResultRewritesIt() throws {
        let workspace = try HistoryFixture.workspace("pipe-lock-memo")
        defer { workspace.remove() }
        let run = ["run", HistoryFixture.pipeline] + Self.sweep
        #expect(try pipe.run(run, in: workspace.root).status == 0)
        let original = try workspace.read(Self.lock)
        settle()
        #expect(try pipe.run(run, in: workspace.root).status == 0)  // compares the file, then remembers it
        let memo = try FileManager.default.contentsOfDirectory(atPath: workspace.path("artifacts/statcache")).filter { $0.hasSuffix(".written") }
        #expect(memo.count == 1, "the memo is saved")
        let stamp = try modified(workspace, Self.lock)
        #expect(try pipe.run(run, in: workspace.root).status == 0)
        #expect(try workspace.read(Self.lock) == original)
        #expect(try modified(workspace, Self.lock) == stamp, "an unchanged lock file is left alone")

        // Edited by hand (same length, so only the timestamps tell): restored by the next run.
        let edited = original.replacingOccurrences(of: "schema: pipe.lock.v2", with: "schema: pipe.lock.v9")
        #expect(edited != original && edited.utf8.count == original.utf8.count)
        try workspace.write(Self.lock, edited)
        #expect(try pipe.run(run, in: workspace.root).status == 0)
        #expect(try workspace.read(Self.lock) == original, "restored")

        // Removed: written again.
        settle()
        #expect(try pipe.run(run, in: workspace.root).status == 0)
        try FileManager.default.removeItem(atPath: workspace.path(Self.lock))
        #expect(try pipe.run(run, in: workspace.root).status == 0)
        #expect(try workspace.read(Self.lock) == original)

        // The same keys with new outputs (a nondeterministic stage forced to run again): rewritten.
        settle()
        #expect(try pipe.run(run, in: workspace.root).status == 0)
        #expect(try pipe.run(run + ["--force", "eval"], in: workspace.root).status == 0)
        let rerun = try workspace.read(Self.lock)
        #expect(rerun != original, "the samples' digests changed")
        #expect(rerun.components(separatedBy: "\n").count == original.components(separatedBy: "\n").count)
    }
}
