import Foundation
@testable import Store
import Testing

@Suite("Failed-stage logs")
struct FailedLogsTests {
    @Test func keptPerRunAndCollectedByGCWithTheRun() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        try dir.write("log.txt", "error: diverged\n")
        let kept = try #require(store.keepFailedLog(dir.path + "/log.txt", run: "run-a", stage: "ppo[lr=1/3]"))
        #expect(kept == store.root + "/logs/failed/run-a/ppo[lr=1_3].log")
        #expect(try String(contentsOfFile: kept, encoding: .utf8) == "error: diverged\n")
        store.keepFailedLog(dir.path + "/log.txt", run: "run-b", stage: "sft")

        // Young logs survive the grace period; then only the kept runs' logs stay.
        #expect(try store.garbageCollect(keepKeys: [], keepFailedLogs: [], dryRun: false).removedFailedLogs.isEmpty)
        let dry = try store.garbageCollect(keepKeys: [], keepFailedLogs: ["run-a"], dryRun: true, grace: .zero)
        #expect(dry.removedFailedLogs == ["run-b"])
        #expect(FileManager.default.fileExists(atPath: store.failedLogPath(run: "run-b", stage: "sft")))
        let real = try store.garbageCollect(keepKeys: [], keepFailedLogs: ["run-a"], dryRun: false, grace: .zero)
        #expect(real.removedFailedLogs == ["run-b"] && real.freedBytes > 0)
        #expect(!FileManager.default.fileExists(atPath: store.failedLogsDirectory + "/run-b"))
        #expect(FileManager.default.fileExists(atPath: kept))
    }
}
