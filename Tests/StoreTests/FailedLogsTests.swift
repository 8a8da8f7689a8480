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

    /// Before, a stage name (or sweep variant) longer than a file name allows lost its log: the
    /// copy failed, and `pipe log` said the log "may have been removed by `pipe gc`".
    @Test func aLongStageNameKeepsItsLogUnderAShortenedDistinctName() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        try dir.write("log.txt", "error: exit 3\n")
        let long = String(repeating: "s", count: 300)
        let kept = try #require(store.keepFailedLog(dir.path + "/log.txt", run: "run-a", stage: long))
        #expect(kept == store.failedLogPath(run: "run-a", stage: long))
        let name = POSIX.lastComponent(kept)
        #expect(name.utf8.count <= 204 && name.hasPrefix(String(repeating: "s", count: 183) + "~") && name.hasSuffix(".log"), "\(name)")
        #expect(try String(contentsOfFile: kept, encoding: .utf8) == "error: exit 3\n")
        #expect(store.failedLogPath(run: "run-a", stage: long + "t") != kept, "names sharing a long prefix stay apart")
        let wide = String(repeating: "é", count: 150)  // 300 bytes: cut on a character boundary
        let wideName = POSIX.lastComponent(store.failedLogPath(run: "run-a", stage: wide))
        #expect(wideName.utf8.count <= 204 && wideName.hasPrefix(String(repeating: "é", count: 91) + "~"), "\(wideName)")
        #expect(store.failedLogPath(run: "run-a", stage: "sft") == store.root + "/logs/failed/run-a/sft.log")
    }
}
