import Foundation
import Hashing
import Testing
@testable import Store

@Suite("Run registry")
struct RunRegistryTests {
    @Test func roundTrip() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let registry = try store.openRegistry()
        let started = Date(timeIntervalSince1970: 1_763_776_000.25)
        let params: JSONValue = .object(["ppo": .object(["lr": .double(1.41e-5), "ppo_epochs": .int(4)])])
        let id = try registry.startRun(NewRun(pipelinePath: "pipelines/smoke.yaml", pipelineDigest: SHA256.hash("yaml").hex,
                                              name: "smoke", params: params, commandLine: ["pipe", "run", "pipelines/smoke.yaml"],
                                              startedAt: started))
        #expect(id.hasPrefix("20251122-014640-"))
        #expect(id.count == 20)
        let out = SHA256.hash("out")
        try registry.recordStageExecution(StageExecution(runID: id, stage: "tokens", key: "k1", outcome: .cached, outputs: ["tokens": out]))
        try registry.recordStageExecution(StageExecution(runID: id, stage: "sft", key: "k2", outcome: .ran, startedAt: started,
                                                         finishedAt: started.addingTimeInterval(3), exitStatus: 0, outputs: ["model": out]))
        try registry.recordMetrics(runID: id, stage: "sft", points: [MetricPoint(step: 1, name: "loss", value: 2.5),
                                                                     MetricPoint(step: 2, name: "loss", value: 2.0)])
        try registry.finishRun(id: id, status: .succeeded, finishedAt: started.addingTimeInterval(4))

        // Another connection (as in a second process) sees everything.
        let details = try RunRegistry(path: store.registryPath, sharedConnection: false).runDetails(id: id)
        #expect(details.run.status == .succeeded)
        #expect(details.run.params == params)
        #expect(details.run.commandLine == ["pipe", "run", "pipelines/smoke.yaml"])
        #expect(details.run.durationSeconds == 4)
        #expect(details.stages.map(\.stage) == ["tokens", "sft"])
        #expect(details.stages[1].outputs == ["model": out])
        #expect(details.stages[1].durationSeconds == 3)
        #expect(details.metrics["sft"]?.map(\.value) == [2.5, 2.0])
    }

    @Test func latestExecutionPerStageForStatus() throws {
        let dir = try TemporaryDirectory()
        let registry = try RunRegistry(path: dir.path + "/runs.sqlite")
        func run(_ at: Double, _ pipeline: String, _ stages: [(String, String, StageOutcome)]) throws -> String {
            let id = try registry.startRun(NewRun(pipelinePath: pipeline, pipelineDigest: "d", name: "p", params: .null,
                                                  commandLine: [], startedAt: Date(timeIntervalSince1970: at)))
            for (stage, key, outcome) in stages {
                try registry.recordStageExecution(StageExecution(runID: id, stage: stage, key: key, outcome: outcome))
            }
            return id
        }
        _ = try run(1000, "a.yaml", [("sft", "old-sft", .ran), ("ppo", "old-ppo", .ran)])
        _ = try run(2000, "a.yaml", [("sft", "new-sft", .cached), ("ppo", "failed-ppo", .failed)])
        _ = try run(3000, "b.yaml", [("sft", "other-pipeline", .ran)])
        let latest = try registry.latestExecutions(pipeline: "a.yaml")
        #expect(latest.mapValues(\.key) == ["sft": "new-sft", "ppo": "old-ppo"])
        #expect(try registry.latestExecution(pipeline: "a.yaml", stage: "ppo")?.key == "old-ppo")
        #expect(try registry.latestExecution(pipeline: "a.yaml", stage: "nope") == nil)
        #expect(try registry.listRuns(limit: 10).count == 3)
        #expect(try registry.listRuns(limit: 10, pipeline: "a.yaml").map { $0.startedAt.timeIntervalSince1970 } == [2000, 1000])
        #expect(try registry.runIDs(withStageKey: "old-ppo").count == 1)
    }

    @Test func runIDResolution() throws {
        let dir = try TemporaryDirectory()
        let registry = try RunRegistry(path: dir.path + "/runs.sqlite")
        let a = try registry.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: [],
                                             startedAt: Date(timeIntervalSince1970: 1_700_000_000)))
        let b = try registry.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: [],
                                             startedAt: Date(timeIntervalSince1970: 1_700_000_100)))
        #expect(try registry.resolveRunID(a) == a)
        #expect(try registry.resolveRunID(String(b.prefix(15))) == b)
        #expect(try registry.resolveRunID("latest") == b)
        #expect(throws: StoreError.self) { try registry.resolveRunID("2023") }
        #expect(throws: StoreError.unknownRun("1999")) { try registry.resolveRunID("1999") }
        // LIKE wildcards in a reference are literal: `_` does not stand for b's 15th character.
        let wildcard = String(b.prefix(14)) + "_"
        #expect(throws: StoreError.unknownRun(wildcard)) { try registry.resolveRunID(wildcard) }
        #expect(RunRegistry.likePrefix(#"a_b%c\"#) == #"a\_b\%c\\%"#)
        #expect(throws: StoreError.self) { try registry.finishRun(id: "missing", status: .failed) }
    }

    @Test func concurrentWritersFromSeveralConnectionsDoNotFail() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/runs.sqlite"
        _ = try RunRegistry(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let registry = try RunRegistry(path: path, sharedConnection: false)  // one connection each, like separate processes
                    for index in 0..<10 {
                        let id = try registry.startRun(NewRun(pipelinePath: "p\(worker)", pipelineDigest: "d", name: "n",
                                                              params: .null, commandLine: []))
                        try registry.recordMetrics(runID: id, stage: "s", points: (0..<20).map { MetricPoint(step: $0, name: "m", value: Double(index)) })
                        try registry.finishRun(id: id, status: .succeeded)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try RunRegistry(path: path).listRuns(limit: 100).count == 40)
    }
}

@Suite("Shared filesystems")
struct SharedFilesystemTests {
    @Test func mountTableDecidesNetworkFilesystems() {
        let mounts = """
            overlay / overlay rw,relatime 0 0
            server:/export /shared nfs4 rw,relatime,vers=4.2 0 0
            lustre@tcp:/fs /lus lustre rw,flock 0 0
            /dev/sdb1 /shared/local\\040disk ext4 rw 0 0
            sshfs#me@host: /mnt/ssh fuse.sshfs rw 0 0
            """
        #expect(FilesystemKind.filesystemType(resolvedPath: "/work/artifacts", mounts: mounts) == "overlay")
        #expect(FilesystemKind.filesystemType(resolvedPath: "/shared/proj/artifacts", mounts: mounts) == "nfs4")
        #expect(FilesystemKind.filesystemType(resolvedPath: "/shared/local disk/a", mounts: mounts) == "ext4")
        #expect(FilesystemKind.filesystemType(resolvedPath: "/sharedother", mounts: mounts) == "overlay")
        #expect(FilesystemKind.filesystemType(resolvedPath: "/lus/x", mounts: mounts) == "lustre")
        #expect(FilesystemKind.filesystemType(resolvedPath: "/mnt/ssh", mounts: mounts) == "fuse.sshfs")
    }

    @Test func registryOnANetworkFilesystemUsesARollbackJournal() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/runs.sqlite"
        let registry = try RunRegistry(path: path, networkFilesystem: true, sharedConnection: false)
        let id = try registry.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: []))
        try registry.finishRun(id: id, status: .succeeded)
        #expect(!POSIX.exists(path + "-wal"))
        #expect(try RunRegistry(path: path, networkFilesystem: true, sharedConnection: false).run(id: id)?.status == .succeeded)
        // A local registry file is switched to WAL when opened as local.
        _ = try RunRegistry(path: path, networkFilesystem: false, sharedConnection: false)
        #expect(POSIX.exists(path + "-wal"))
    }
}

@Suite("Registry connection sharing")
struct RegistryConnectionTests {
    @Test func aStoreRecreatedAtTheSamePathGetsAFreshRegistry() throws {
        let dir = try TemporaryDirectory()
        let root = dir.path + "/store"
        let first = try ArtifactStore(root: root).openRegistry()
        _ = try first.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: []))
        #expect(try ArtifactStore(root: root).openRegistry().listRuns().count == 1, "same process, same file: shared")
        try POSIX.removeTree(root)
        let second = try ArtifactStore(root: root).openRegistry()
        #expect(try second.listRuns().isEmpty, "the new file is opened, not the deleted one")
        _ = try second.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: []))
        #expect(try RunRegistry(path: root + "/runs.sqlite", sharedConnection: false).listRuns().count == 1)
    }
}
