import Foundation
import GRDB
import Hashing
import Testing
@testable import Store

/// Damage inside objects, hard links in outputs, poisoned results, quarantine names, registry loss
/// and runs left behind by dead runners.
@Suite("Store hardening")
struct HardeningTests {
    /// Ingests `dir/<name>` (files given) and commits a record for `key` with `inputs` in its key material.
    @discardableResult
    func commitDirectory(_ store: ArtifactStore, _ dir: TemporaryDirectory, key: String, files: [String: String],
                         inputs: [Digest] = [], startedAt: Date = Date()) throws -> (key: Digest, object: Digest) {
        for (path, text) in files { try dir.write("out-\(key)/\(path)", text) }
        let object = try store.ingest(dir.path + "/out-\(key)")
        let keyDigest = SHA256.hash(key)
        let material = JSONValue.object(["inputs": .array(inputs.map { .object(["name": .string("x"), "digest": .string($0.hex)]) })])
        try store.commit(StageRecord(key: keyDigest, stage: key, keyMaterial: material, outputs: ["out": object],
                                     startedAt: startedAt, finishedAt: startedAt))
        return (keyDigest, object)
    }

    /// Runs `body` on a file inside a read-only object with write permission, then seals it again.
    func tamper(_ store: ArtifactStore, _ object: Digest, _ body: (String) throws -> Void) rethrows {
        let root = store.objectPath(object)
        chmod(root, 0o755)
        defer { chmod(root, 0o555) }
        try body(root)
    }

    @Test func aFileDeletedInsideADirectoryObjectMakesTheRecordAMissAndTheRebuildHealsTheObject() throws {
        let dir = try TemporaryDirectory()
        let warnings = WarningLog()
        let store = try ArtifactStore(root: dir.path + "/store", warning: warnings.handler)
        let files = ["a.txt": "alpha", "b.txt": "bravo"]
        let (key, object) = try commitDirectory(store, dir, key: "model", files: files)
        #expect(store.record(forKey: key) != nil)
        #expect(store.objectDamage(object) == nil)

        tamper(store, object) { root in _ = unlink(root + "/b.txt") }
        #expect(store.objectDamage(object) == "file 'b.txt' is missing")
        #expect(store.record(forKey: key) == nil, "an incomplete tree is never a cache hit")
        #expect(warnings.all.last == "object \(object.short) of stage record \(store.recordPath(forKey: key)) is damaged (file 'b.txt' is missing); the stage will be rebuilt (`pipe verify` checks every object)")
        #expect(store.objectCorruption(object) == "file 'b.txt' is missing")

        // The rebuild ingests the same bytes: the damaged copy goes to quarantine, the fresh one in.
        for (path, text) in files { try dir.write("again/\(path)", text) }
        #expect(try store.ingest(dir.path + "/again") == object)
        #expect(POSIX.exists(store.shapePath(object)), "the healed object has its shape again")
        #expect(store.objectDamage(object) == nil)
        #expect(store.record(forKey: key) != nil)
        #expect(try POSIX.listDirectory(store.quarantineDirectory).count == 1)
    }

    @Test func anAddedOrResizedFileIsDamageToo() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store", warning: { _ in })
        let (_, object) = try commitDirectory(store, dir, key: "m", files: ["a.txt": "alpha", "sub/b.txt": "bravo"])
        try tamper(store, object) { root in
            try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/extra.txt"))
        }
        #expect(store.objectDamage(object) == "'extra.txt' is not part of it")
        tamper(store, object) { root in _ = unlink(root + "/extra.txt") }
        #expect(store.objectDamage(object) == nil)
        let sub = store.objectPath(object) + "/sub"
        chmod(sub, 0o755)
        chmod(sub + "/b.txt", 0o644)
        _ = truncate(sub + "/b.txt", 2)
        #expect(store.objectDamage(object) == "file 'sub/b.txt' has 2 bytes, expected 5")
    }

    @Test func shapesRoundTripAnyFileNameAndCatchAReplacedEntry() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store", warning: { _ in })
        let (_, object) = try commitDirectory(store, dir, key: "odd", files: ["line\nbreak.txt": "x", "sp ace/é.txt": "yy", "n.txt": "z"])
        let bytes = try #require(try POSIX.readFile(store.shapePath(object)))
        let shape = try #require(ObjectShape(encoded: bytes))
        #expect(shape.entries.count == 4)
        #expect(shape.entries["line\nbreak.txt"] == .init(kind: .file, size: 1))
        #expect(store.objectDamage(object) == nil)
        try tamper(store, object) { root in
            chmod(root + "/n.txt", 0o644)
            _ = unlink(root + "/n.txt")
            #expect(mkdir(root + "/n.txt", 0o755) == 0)
        }
        #expect(store.objectDamage(object) == "file 'n.txt' is no longer a file")
        #expect(ObjectShape(encoded: Array("f 1 99:short\n".utf8)) == nil, "a truncated shape is ignored, not trusted")
    }

    /// A shape file emptied or wrong is not damage to its object: the object is re-hashed, found
    /// intact, and the shape written again; nothing is quarantined and the result stays a hit. A
    /// real change to the object is still damage.
    @Test func aDamagedShapeFileIsRepairedNotTakenForADamagedObject() throws {
        let dir = try TemporaryDirectory()
        let warnings = WarningLog()
        let store = try ArtifactStore(root: dir.path + "/store", warning: warnings.handler)
        let (key, object) = try commitDirectory(store, dir, key: "data", files: ["a.txt": "alpha", "b.txt": "bravo"])
        let shape = store.shapePath(object)
        let good = try #require(try POSIX.readFile(shape))
        for bad in [[], Array("f 9 0:\n".utf8), Array("f 6 5:a.txt\nf 5 5:b.txt\n".utf8)] as [[UInt8]] {
            unlink(shape)
            try POSIX.writeNewFile(shape, bad, sync: false)
            #expect(store.objectDamage(object) == nil, "\(bad)")
            #expect(try POSIX.readFile(shape) == good, "written again")
            #expect(try ArtifactStore(root: store.root).record(forKey: key) != nil)
        }
        #expect(!POSIX.exists(store.quarantineDirectory))
        #expect(warnings.all.count == 3 && warnings.all[1] == "the shape file \(shape) did not match its intact object (by the shape, it is no longer a file); wrote it again", "\(warnings.all)")

        try tamper(store, object) { root in _ = unlink(root + "/b.txt") }
        #expect(store.objectDamage(object) == "file 'b.txt' is missing")
        #expect(try POSIX.readFile(shape) == good)
    }

    @Test func aHardLinkedOutputIsCopiedAndTheOutsideFileIsLeftAlone() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        try dir.write("outside.txt", "user's own file", mode: 0o644)
        try dir.makeDirectory("out")
        #expect(link(dir.path + "/outside.txt", dir.path + "/out/h") == 0)
        let object = try store.ingest(dir.path + "/out")

        let outside = try #require(try POSIX.status(dir.path + "/outside.txt"))
        #expect(outside.mode & 0o777 == 0o644, "never chmod anything outside the store")
        #expect(outside.linkCount == 1)
        let stored = try #require(try POSIX.status(store.objectPath(object) + "/h"))
        #expect(stored.inode != outside.inode)
        // Writing through the outside name does not change the object.
        try dir.write("outside.txt", "changed later!!")
        #expect(store.objectCorruption(object) == nil)
    }

    @Test func verifyRemovesResultsBuiltFromACorruptObjectTransitivelyAndASecondVerifyIsClean() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store", warning: { _ in })
        let earlier = Date(timeIntervalSinceNow: -60)
        let (_, data) = try commitDirectory(store, dir, key: "data", files: ["rows.txt": "1,2,3"], startedAt: earlier)
        let (trainKey, model) = try commitDirectory(store, dir, key: "train", files: ["w.bin": "weights"], inputs: [data], startedAt: earlier)
        let (evalKey, _) = try commitDirectory(store, dir, key: "eval", files: ["m.json": "{}"], inputs: [model], startedAt: earlier)
        let (otherKey, _) = try commitDirectory(store, dir, key: "other", files: ["o.txt": "unrelated"], startedAt: earlier)

        // Same-size edit: the cheap check cannot see it, verify must.
        try tamper(store, data) { root in
            chmod(root + "/rows.txt", 0o644)
            try Data("9,9,9".utf8).write(to: URL(fileURLWithPath: root + "/rows.txt"))
        }
        #expect(store.objectDamage(data) == nil)

        let report = try store.verify(quarantine: false)
        #expect(report.corrupted.map(\.digest) == [data])
        #expect(Set(report.poisoned.map(\.key)) == [trainKey, evalKey])
        #expect(report.poisoned.allSatisfy { !$0.invalidated })
        #expect(try !store.verify(quarantine: false).isClean, "report-only leaves the poisoned results: still not intact")

        let fixing = try store.verify()
        #expect(Set(fixing.poisoned.map(\.key)) == [trainKey, evalKey])
        #expect(fixing.poisoned.first { $0.key == evalKey }?.builtFrom == model)
        #expect(store.record(forKey: trainKey) == nil && store.record(forKey: evalKey) == nil)
        #expect(store.record(forKey: otherKey) != nil)
        #expect(try store.verify().isClean)

        // Rebuilt after the quarantine from the restored object: not poisoned.
        try commitDirectory(store, dir, key: "data2", files: ["rows.txt": "1,2,3"])
        #expect(store.hasObject(data))
        try commitDirectory(store, dir, key: "train", files: ["w.bin": "weights"], inputs: [data])
        #expect(try store.verify().isClean)
    }

    @Test func quarantineNamesNeverCollide() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store", warning: { _ in })
        for round in 0..<2 {
            try dir.write("f\(round)/x.txt", "same content")
            let object = try store.ingest(dir.path + "/f\(round)")
            try dir.write("file\(round).txt", "same file")
            let file = try store.ingest(dir.path + "/file\(round).txt")
            try tamper(store, object) { root in
                chmod(root + "/x.txt", 0o644)
                try Data("SAME content".utf8).write(to: URL(fileURLWithPath: root + "/x.txt"))
            }
            chmod(store.objectPath(file), 0o644)
            try Data("SAME file".utf8).write(to: URL(fileURLWithPath: store.objectPath(file)))
            #expect(try store.verify().corrupted.count == 2)
        }
        let names = try POSIX.listDirectory(store.quarantineDirectory)
        #expect(names.count == 4, "two quarantines of each digest within a second keep both copies: \(names)")
    }

    @Test func aTruncatedRegistryIsReportedAndRebuiltFromTheStageRecords() throws {
        let dir = try TemporaryDirectory()
        let warnings = WarningLog()
        let store = try ArtifactStore(root: dir.path + "/store", warning: warnings.handler)
        let (key, object) = try commitDirectory(store, dir, key: "sft", files: ["w.bin": "weights"])
        let registry = try RunRegistry(path: store.registryPath, sharedConnection: false)
        for _ in 0..<2 {
            let run = try registry.startRun(NewRun(pipelinePath: "p.yaml", pipelineDigest: "d", name: "n", params: .null, commandLine: []))
            try registry.recordStageExecution(StageExecution(runID: run, stage: "sft", key: key.hex, outcome: .ran, outputs: ["out": object]))
            try registry.finishRun(id: run, status: .succeeded)
        }
        #expect(try registry.lostHistory() == nil)
        let last = try #require(try registry.listRuns(limit: 1).first?.id)

        // Truncate the database and drop its WAL: SQLite sees an empty, valid registry.
        for suffix in ["", "-wal", "-shm"] { _ = unlink(store.registryPath + suffix) }
        _ = FileManager.default.createFile(atPath: store.registryPath, contents: nil)
        let reopened = try RunRegistry(path: store.registryPath, sharedConnection: false)
        #expect(try reopened.lostHistory() == "\(store.registryPath) has 0 runs but 2 were recorded (the latest, \(last), is missing): history was lost (a truncated or damaged file, or a damaged write-ahead log)")

        let rebuilt = try store.rebuildRegistry()
        #expect(rebuilt.records == 1)
        #expect(rebuilt.movedAside.map { POSIX.exists($0) } == true)
        let fresh = try RunRegistry(path: store.registryPath, sharedConnection: false)
        #expect(try fresh.lostHistory() == nil)
        let recovered = try #require(try fresh.listRuns().first)
        #expect(recovered.name == "recovered")
        #expect(try fresh.stageKeys(ofRuns: [recovered.id]) == [key.hex])
    }

    /// A run started after the registry lost history must not move the watermark past the loss:
    /// `pipe gc` would then collect what only the lost runs used.
    @Test func aNewRunDoesNotHideLostHistory() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let registry = try RunRegistry(path: store.registryPath, sharedConnection: false)
        for _ in 0..<2 { _ = try registry.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: [])) }
        for suffix in ["", "-wal", "-shm"] { _ = unlink(store.registryPath + suffix) }
        _ = FileManager.default.createFile(atPath: store.registryPath, contents: Data())
        let reopened = try RunRegistry(path: store.registryPath, sharedConnection: false)
        #expect(try reopened.lostHistory() != nil)
        for _ in 0..<3 { _ = try reopened.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: [])) }
        let loss = try #require(try reopened.lostHistory(), "three new runs hid the loss of two")
        #expect(loss.contains("but 2 were recorded"), "\(loss)")
        _ = try store.rebuildRegistry()
        let rebuilt = try RunRegistry(path: store.registryPath, sharedConnection: false)
        _ = try rebuilt.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: []))
        #expect(try rebuilt.lostHistory() == nil, "a rebuilt registry starts a new watermark")
    }

    /// SQLite drops a write-ahead log whose header checksum is wrong without a word; the
    /// watermark notices the runs that went with it.
    @Test func aDamagedWriteAheadLogIsNoticed() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let registry = try RunRegistry(path: store.registryPath, sharedConnection: false)
        for _ in 0..<3 {
            _ = try registry.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: []))
        }
        #expect(POSIX.exists(store.registryPath + "-wal"), "the runs are in the WAL (connection still open)")
        // A copy of the store's registry files as they are now, with the WAL header damaged.
        try FileManager.default.createDirectory(atPath: dir.path + "/copy", withIntermediateDirectories: true)
        for name in ["runs.sqlite", "runs.sqlite-wal", "runs.watermark"] {
            try FileManager.default.copyItem(atPath: store.root + "/" + name, toPath: dir.path + "/copy/" + name)
        }
        let wal = open(dir.path + "/copy/runs.sqlite-wal", O_RDWR)
        var garbage: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
        #expect(pwrite(wal, &garbage, 4, 24) == 4)  // the header's checksum
        close(wal)
        let damaged = try RunRegistry(path: dir.path + "/copy/runs.sqlite", sharedConnection: false)
        let loss = try #require(try damaged.lostHistory())
        #expect(loss.contains("has 0 runs but 3 were recorded"), "\(loss)")
    }

    @Test func aRunWhoseRunnerDiedIsMarkedInterrupted() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let registry = try RunRegistry(path: store.registryPath, sharedConnection: false)
        let alive = try registry.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: []))
        let dead = try registry.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: []))
        // A process that has ended: its pid names no process (or a different one, with another start time).
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        try registry.write { db in
            try db.execute(sql: "UPDATE runs SET runner = ? WHERE id = ?", arguments: ["\(finished.processIdentifier):1", dead])
        }
        let runner = try registry.read { db in try String.fetchOne(db, sql: "SELECT runner FROM runs WHERE id = ?", arguments: [alive]) }
        #expect(runner == RunnerProcess.current && runner?.hasSuffix(":?") == false, "pid and start time: \(runner ?? "nil")")
        #expect(RunnerProcess.isAlive("\(getpid()):1") == false, "a reused pid with another start time is not the runner")
        #expect(try registry.reapAbandonedRuns() == [dead])
        #expect(try registry.run(id: dead)?.status == .interrupted)
        #expect(try registry.run(id: alive)?.status == .running, "this process is alive")
    }

    @Test func lookingForLiveRunsReadsOnlyTheLiveRunsIndex() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let registry = try RunRegistry(path: store.registryPath, sharedConnection: false)
        let (_, ids) = try registry.startRuns((0..<40).map { _ in
            NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: [])
        })
        var batch = RunRegistry.Batch()
        batch.finished = ids.dropFirst().map { ($0, .succeeded, Date()) }
        try registry.record(batch)
        let plan = try registry.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT id, host, runner, started_at, heartbeat_at FROM runs WHERE status = 'running'")
                .map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("runs_live") }, "the abandoned-run check must not scan every run: \(plan)")
        let live = try registry.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs INDEXED BY runs_live WHERE status = 'running'") }
        #expect(live == 1, "only the run still going is in the index")
        #expect(try registry.reapAbandonedRuns().isEmpty, "its runner is this process")
    }

    @Test func aFailedWriteLeavesNoFileBehind() throws {
        let dir = try TemporaryDirectory()
        // Writing into a directory that is not there fails at create; writing to a read-only
        // directory too: neither leaves anything. (A full disk is covered end to end.)
        #expect(throws: StoreError.self) { try POSIX.writeNewFile(dir.path + "/missing/x.json", [1, 2, 3], sync: true) }
        #expect(!POSIX.exists(dir.path + "/missing/x.json"))
        #expect(POSIX.writeFailure("write", "/p", ENOSPC) == .noSpace(path: "/p"))
        #expect(StoreError.noSpace(path: "/s/tmp/record~x.json").description
                == "store: no space left on device while writing /s/tmp/record~x.json; free some space (`pipe gc` removes old results) and run again")
    }
}
