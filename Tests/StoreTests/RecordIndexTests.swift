import Foundation
import Hashing
import Testing
@testable import Store

/// `statcache/<host>.records`: a record read once is answered from the index while its file is
/// unchanged, and never when it changed; its objects are checked on every hit.
@Suite("Record index")
struct RecordIndexTests {
    func makeStore(_ dir: TemporaryDirectory, warnings: WarningLog = WarningLog()) throws -> ArtifactStore {
        try ArtifactStore(root: dir.path + "/store", warning: warnings.handler)
    }

    func record(_ key: Digest, outputs: [String: Digest], log: Digest? = nil, loss: Double = 1.25,
                cpuSeconds: Double? = 11.75) -> StageRecord {
        StageRecord(key: key, stage: "sft", keyMaterial: .object(["kind": .string("sft"), "params": .object(["lr": .double(3e-4)])]),
                    outputs: outputs, log: log, metrics: ["loss": loss, "reward": -0.5], startedAt: Date(timeIntervalSince1970: 1_700_000_000.123),
                    finishedAt: Date(timeIntervalSince1970: 1_700_000_012.5), exitStatus: 0, cpuSeconds: cpuSeconds, host: "node1",
                    createdAt: Date(timeIntervalSince1970: 1_700_000_013))
    }

    /// Records written just now are too new to index (their timestamps could still be reused).
    func waitOutRacyWindow() { usleep(UInt32(StatCache.racyWindowNanoseconds / 1000) + 50_000) }

    /// Commits a record with an output file and a log, waits until it may be indexed.
    func committed(_ store: ArtifactStore, _ dir: TemporaryDirectory, name: String, cpuSeconds: Double? = 11.75) throws -> StageRecord {
        try dir.write(name + ".out", "result of " + name)
        try dir.write(name + ".log", "log of " + name)
        let original = record(SHA256.hash(name), outputs: ["model": try store.ingest(dir.path + "/" + name + ".out")],
                              log: try store.ingest(dir.path + "/" + name + ".log"), cpuSeconds: cpuSeconds)
        try store.commit(original)
        return original
    }

    func indexed(_ store: ArtifactStore, _ key: Digest) throws -> RecordIndex.Entry? {
        let path = store.recordPath(forKey: key)
        let status = try #require(try POSIX.status(path, followSymlinks: true))
        return store.recordIndex.lookup(key, identity: RecordIndex.Identity(status), recordPath: path)
    }

    @Test func aRecordReadOnceIsAnsweredFromTheIndexByTheNextProcessAndEqualsTheFile() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        let original = try committed(store, dir, name: "a")
        #expect(try indexed(store, original.key) == nil, "a record just written is not indexed")
        waitOutRacyWindow()
        #expect(store.record(forKey: original.key) == original)
        store.saveRecordIndex()
        #expect(POSIX.exists(store.root + "/statcache/" + POSIX.hostName + ".records"))

        let next = try makeStore(dir)  // a later `pipe` process
        let entry = try #require(try indexed(next, original.key))
        #expect(entry.record == original, "every field, the key material read from the file when asked")
        #expect(entry.record.startedAt == original.startedAt && entry.record.metrics == original.metrics)
        #expect(entry.shapes.map(\.object) == original.referencedObjects)
        #expect(next.record(forKey: original.key) == original)
        #expect(Array(try StoreJSON.encoder().encode(entry.record)) == Array(try StoreJSON.encoder().encode(original)))
    }

    @Test func aRecordWithoutCPUSecondsKeepsThemUnknownThroughTheIndex() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        let measured = try committed(store, dir, name: "measured")
        let unmeasured = try committed(store, dir, name: "unmeasured", cpuSeconds: nil)
        waitOutRacyWindow()
        _ = store.record(forKey: measured.key); _ = store.record(forKey: unmeasured.key)
        store.saveRecordIndex()
        let next = try makeStore(dir)
        #expect(try #require(try indexed(next, measured.key)).record.cpuSeconds == 11.75)
        #expect(try #require(try indexed(next, unmeasured.key)).record.cpuSeconds == nil)
        #expect(next.record(forKey: unmeasured.key) == unmeasured)
    }

    @Test func aReplacedOrRemovedRecordIsNeverAnsweredFromTheIndex() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        let original = try committed(store, dir, name: "b")
        waitOutRacyWindow()
        _ = store.record(forKey: original.key)
        store.saveRecordIndex()

        var replaced = original
        replaced.metrics = ["loss": 0.5]
        try store.commit(replaced)  // e.g. `--force`: a new file under the same name
        let next = try makeStore(dir)
        #expect(try indexed(next, original.key) == nil)
        #expect(next.record(forKey: original.key)?.metrics == ["loss": 0.5])

        try next.removeRecord(forKey: original.key)
        #expect(try makeStore(dir).record(forKey: original.key) == nil)
    }

    @Test func objectsAreCheckedOnEveryHit() throws {
        let dir = try TemporaryDirectory()
        let warnings = WarningLog()
        let store = try makeStore(dir, warnings: warnings)
        let original = try committed(store, dir, name: "c")
        waitOutRacyWindow()
        _ = store.record(forKey: original.key)
        store.saveRecordIndex()

        // Truncated output: its size no longer matches the shape kept in the index.
        let output = store.objectPath(original.outputs["model"]!)
        chmod(output, 0o644)
        try Data("res".utf8).write(to: URL(fileURLWithPath: output))
        let next = try makeStore(dir, warnings: warnings)
        #expect(try indexed(next, original.key) != nil, "the record file itself is unchanged")
        #expect(next.record(forKey: original.key) == nil)
        #expect(warnings.all.last?.contains("damaged") == true)

        // Missing log object.
        try POSIX.removeTree(store.objectPath(original.log!))
        #expect(try makeStore(dir, warnings: warnings).record(forKey: original.key) == nil)
        #expect(warnings.all.last?.contains("missing objects") == true)
    }

    @Test func aDamagedIndexIsAMissNotAWrongAnswer() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        let original = try committed(store, dir, name: "d")
        waitOutRacyWindow()
        _ = store.record(forKey: original.key)
        store.saveRecordIndex()
        let indexPath = store.root + "/statcache/" + POSIX.hostName + ".records"
        var bytes = try #require(try POSIX.readFile(indexPath))
        // Flip a byte of the payload (the stage name): the entry's check no longer holds.
        let stage = Array("sft".utf8)
        let at = try #require((0..<(bytes.count - 3)).first { Array(bytes[$0..<($0 + 3)]) == stage })
        bytes[at] ^= 0x20
        unlink(indexPath)
        try POSIX.writeNewFile(indexPath, bytes, sync: false)
        let next = try makeStore(dir)
        #expect(try indexed(next, original.key) == nil)
        #expect(next.record(forKey: original.key) == original)

        // Garbage instead of an index: ignored, and replaced on the next save.
        unlink(indexPath)
        try POSIX.writeNewFile(indexPath, Array("not an index".utf8), sync: false)
        let third = try makeStore(dir)
        #expect(third.record(forKey: original.key) == original)
        third.saveRecordIndex()
        #expect(try indexed(try makeStore(dir), original.key) != nil)
    }

    @Test func processesSavingAtOnceMergeTheirEntries() throws {
        let dir = try TemporaryDirectory()
        let writer = try makeStore(dir)
        let first = try committed(writer, dir, name: "e1")
        let second = try committed(writer, dir, name: "e2")
        waitOutRacyWindow()
        let one = try makeStore(dir), two = try makeStore(dir)
        _ = one.record(forKey: first.key)
        _ = two.record(forKey: second.key)
        one.saveRecordIndex()
        two.saveRecordIndex()
        let later = try makeStore(dir)
        #expect(try indexed(later, first.key)?.record == first)
        #expect(try indexed(later, second.key)?.record == second)
    }

    @Test func entriesRoundTripEveryField() throws {
        let key = SHA256.hash("round-trip")
        var original = record(key, outputs: ["model": SHA256.hash("m"), "tokenizer": SHA256.hash("t")], log: nil)
        original.metrics = [:]
        original.exitStatus = -3
        let status = FileStatus(device: 7, inode: 42, size: 900, mode: 0o100644, modifiedNanoseconds: 1_000, changedNanoseconds: 2_000)
        let shapes: [(object: Digest, shape: RecordIndex.ShapeMemo)] = [(SHA256.hash("m"), .recorded(Array("f 3 0:\n".utf8))),
                                                                         (SHA256.hash("t"), .unrecorded)]
        let bytes = RecordIndex.encode(original, identity: RecordIndex.Identity(status), addedAt: 5, shapes: shapes)
        let decoded = bytes.withUnsafeBytes {
            RecordIndex.decode($0, at: 0, key: key, identity: RecordIndex.Identity(status), recordPath: "/nonexistent")
        }
        let entry = try #require(decoded)
        #expect(entry.record.outputs == original.outputs && entry.record.log == nil && entry.record.exitStatus == -3)
        #expect(entry.record.metrics.isEmpty && entry.record.host == "node1" && entry.record.createdAt == original.createdAt)
        #expect(entry.shapes.map(\.shape) == shapes.map(\.shape))
        #expect(entry.record.keyMaterial == .null, "no record file: no material")
        var other = status
        other.changedNanoseconds += 1
        #expect(bytes.withUnsafeBytes { RecordIndex.decode($0, at: 0, key: key, identity: RecordIndex.Identity(other), recordPath: "") } == nil)
    }
}
