import Foundation
import Hashing
import Testing
@testable import Store

@Suite("Objects and stage records")
struct IngestAndRecordTests {
    func makeStore(_ dir: TemporaryDirectory, warnings: WarningLog = WarningLog()) throws -> ArtifactStore {
        try ArtifactStore(root: dir.path + "/store", warning: warnings.handler)
    }

    func record(_ key: Digest, outputs: [String: Digest], log: Digest? = nil) -> StageRecord {
        StageRecord(key: key, stage: "sft", keyMaterial: .object(["kind": .string("sft"), "params": .object(["lr": .double(3e-4), "steps": .int(10)])]),
                    outputs: outputs, log: log, metrics: ["loss": 1.25], startedAt: Date(timeIntervalSince1970: 1_700_000_000),
                    finishedAt: Date(timeIntervalSince1970: 1_700_000_012.5), exitStatus: 0, host: "node1",
                    createdAt: Date(timeIntervalSince1970: 1_700_000_013))
    }

    @Test func ingestMovesATreeIntoReadOnlyObjects() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        let staging = try store.makeStagingDirectory(label: "sft")
        defer { staging.remove() }
        try FileManager.default.createDirectory(atPath: staging.path + "/model/sub", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: staging.path + "/model/config.json", contents: Data("{}".utf8))
        _ = FileManager.default.createFile(atPath: staging.path + "/model/sub/run", contents: Data("#!/bin/sh\n".utf8))
        chmod(staging.path + "/model/sub/run", 0o755)
        let expected = try store.digest(ofPath: staging.path + "/model")

        let digest = try store.ingest(staging.path + "/model")
        #expect(digest == expected)
        #expect(!POSIX.exists(staging.path + "/model"), "ingest consumes its input")
        let object = store.objectPath(digest)
        #expect(store.hasObject(digest))
        #expect(try POSIX.status(object + "/config.json")!.mode & 0o777 == 0o444)
        #expect(try POSIX.status(object + "/sub/run")!.mode & 0o777 == 0o555)
        #expect(try POSIX.status(object + "/sub")!.mode & 0o777 == 0o555)
        #expect(try POSIX.status(object)!.mode & 0o777 == 0o555)
        #expect(try ArtifactScanner(statCache: nil).manifest(ofPath: object).digest == digest, "sealing keeps the digest")
    }

    @Test func ingestingIdenticalContentTwiceKeepsOneObject() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        try dir.write("a/out.txt", "same")
        try dir.write("b/out.txt", "same")
        let first = try store.ingest(dir.path + "/a")
        let second = try store.ingest(dir.path + "/b")
        #expect(first == second)
        #expect(!POSIX.exists(dir.path + "/b"))
        #expect(try POSIX.listDirectory(store.objectsDirectory) == [first.hex])
        // Single files too.
        try dir.write("f1", "file")
        try dir.write("f2", "file")
        #expect(try store.ingest(dir.path + "/f1") == store.ingest(dir.path + "/f2"))
    }

    @Test func concurrentIngestsOfIdenticalTreesAllSucceed() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        let copies = 8
        for index in 0..<copies {
            try dir.write("c\(index)/model/weights.bin", (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) })
            try dir.write("c\(index)/model/config.json", "{\"n_layer\": 2}")
        }
        let results = ResultBox(count: copies)
        DispatchQueue.concurrentPerform(iterations: copies) { index in
            results.set(index, Result { try store.ingest(dir.path + "/c\(index)/model") })
        }
        let digests = try results.values.map { try $0.get() }
        #expect(Set(digests).count == 1)
        #expect(try POSIX.listDirectory(store.objectsDirectory) == [digests[0].hex])
        #expect(try ArtifactScanner(statCache: nil).manifest(ofPath: store.objectPath(digests[0])).digest == digests[0])
    }

    final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [Result<Digest, any Error>?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ value: Result<Digest, any Error>) { lock.lock(); slots[index] = value; lock.unlock() }
        var values: [Result<Digest, any Error>] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
    }

    /// /dev/shm is a tmpfs, so rename(2) into the store fails with EXDEV and ingest must copy.
    @Test(.enabled(if: POSIX.exists("/dev/shm")))
    func ingestAcrossFilesystemsCopiesThenRemovesTheSource() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        let source = "/dev/shm/pipe-store-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? POSIX.removeTree(source) }
        try POSIX.makeDirectories(source + "/bin")
        try POSIX.writeNewFile(source + "/bin/tool", Array("#!/bin/sh\n".utf8), mode: 0o755, sync: false)
        try POSIX.writeNewFile(source + "/data.txt", Array("payload".utf8), sync: false)
        let expected = try ArtifactScanner(statCache: nil).manifest(ofPath: source).digest
        let digest = try store.ingest(source)
        #expect(digest == expected)
        #expect(!POSIX.exists(source))
        #expect(try ArtifactScanner(statCache: nil).manifest(ofPath: store.objectPath(digest)).digest == digest)
        #expect(try POSIX.status(store.objectPath(digest) + "/bin/tool")!.mode & 0o777 == 0o555)
        #expect(try POSIX.listDirectory(store.temporaryDirectory).isEmpty, "the copy's staging is cleaned up")
    }

    @Test func recordRoundTripIsDeterministicJSON() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        try dir.write("out.txt", "result")
        try dir.write("log.txt", "log")
        let out = try store.ingest(dir.path + "/out.txt")
        let log = try store.ingest(dir.path + "/log.txt")
        let key = SHA256.hash("key-1")
        let original = record(key, outputs: ["model": out], log: log)
        try store.commit(original)
        #expect(store.record(forKey: key) == original)
        let bytes = try #require(try POSIX.readFile(store.recordPath(forKey: key)))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"createdAt\" : \"2023-11-14T22:13:33.000Z\""))
        // Same record → same bytes (sorted keys everywhere, including nested key material).
        try store.commit(original)
        #expect(try POSIX.readFile(store.recordPath(forKey: key)) == bytes)
        let keyOrder = ["createdAt", "exitStatus", "finishedAt", "format", "host", "key", "keyMaterial", "log", "metrics", "outputs", "stage", "startedAt"]
        let positions = keyOrder.map { text.range(of: "\"\($0)\" :")!.lowerBound }
        #expect(positions == positions.sorted())
    }

    @Test func keyMaterialIsDecodedOnlyWhenReadAndThenMatches() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        try dir.write("out.txt", "result")
        let key = SHA256.hash("key-lazy")
        let original = record(key, outputs: ["model": try store.ingest(dir.path + "/out.txt")])
        try store.commit(original)
        let bytes = try #require(try POSIX.readFile(store.recordPath(forKey: key)))
        let lazy = try StageRecord.decode(bytes)
        let eager = try StoreJSON.decoder().decode(StageRecord.self, from: Data(bytes))
        #expect(lazy.keyMaterial == original.keyMaterial)
        #expect(lazy == eager)
        // Re-encoding a lazily read record gives the file's bytes back.
        #expect(Array(try StoreJSON.encoder().encode(lazy)) == Array(try StoreJSON.encoder().encode(original)))
        var edited = lazy
        edited.keyMaterial = .string("x")
        #expect(edited.keyMaterial == .string("x"))
        // A record without the field is still corrupt, as before.
        let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"keyMaterial\"", with: "\"keyMaterialX\"")
        #expect(throws: DecodingError.self) { try StageRecord.decode(Array(text.utf8)) }
    }

    @Test func commitRefusesRecordsWhoseObjectsAreMissing() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        let key = SHA256.hash("key")
        #expect(throws: StoreError.self) { try store.commit(record(key, outputs: ["model": SHA256.hash("nothing")])) }
        #expect(!POSIX.exists(store.recordPath(forKey: key)))
    }

    @Test func corruptTruncatedOrMismatchedRecordsCountAsAbsent() throws {
        let dir = try TemporaryDirectory()
        let warnings = WarningLog()
        let store = try makeStore(dir, warnings: warnings)
        try dir.write("out.txt", "result")
        let out = try store.ingest(dir.path + "/out.txt")
        let key = SHA256.hash("key")
        try store.commit(record(key, outputs: ["model": out]))
        let path = store.recordPath(forKey: key)
        let good = try #require(try POSIX.readFile(path))

        unlink(path)
        try POSIX.writeNewFile(path, Array(good.prefix(good.count / 2)), sync: false)
        #expect(store.record(forKey: key) == nil)
        #expect(warnings.all.last?.contains("corrupt") == true)
        let warned = warnings.all.count
        #expect(store.record(forKey: key) == nil)
        #expect(warnings.all.count == warned, "a run looks a record up several times; the same damage is reported once")

        unlink(path)
        try POSIX.writeNewFile(path, Array("garbage \u{0}\u{1}".utf8), sync: false)
        #expect(store.record(forKey: key) == nil)

        unlink(path)
        let otherKey = SHA256.hash("other")
        try POSIX.writeNewFile(path, Array(String(decoding: good, as: UTF8.self).replacingOccurrences(of: key.hex, with: otherKey.hex).utf8), sync: false)
        #expect(store.record(forKey: key) == nil)
        #expect(warnings.all.last?.contains("describes key") == true)

        // Objects gone (e.g. quarantined): the record no longer counts as a result.
        unlink(path)
        try POSIX.writeNewFile(path, good, sync: false)
        #expect(store.record(forKey: key) != nil)
        try POSIX.removeTree(store.objectPath(out))
        #expect(store.record(forKey: key) == nil)
        #expect(warnings.all.last?.contains("missing objects") == true)
    }

    @Test(.enabled(if: commandExists("/usr/bin/flock")))
    func killedStageLeavesNothingThatLooksLikeAResult() throws {
        let dir = try TemporaryDirectory()
        let root = dir.path + "/store"
        let key = SHA256.hash("stage-key")
        let store = try ArtifactStore(root: root)
        // A "stage process" on another host name holds its staging owner lock (flock -o: only the
        // flock process holds it) and writes outputs; then it is SIGKILLed mid-stage.
        let staging = store.temporaryDirectory + "/otherhost~4242~deadbeef~sft"
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        writer.arguments = ["-o", staging + ".owner", "/bin/sh", "-c",
                            "mkdir -p '\(staging)/outs/model' && head -c 100000 /dev/zero > '\(staging)/outs/model/w.bin' && echo $$ > '\(dir.path)/child.pid' && exec sleep 30"]
        try writer.run()
        for _ in 0..<500 where (try? POSIX.readFile(dir.path + "/child.pid"))??.last != UInt8(ascii: "\n") { usleep(10_000) }
        let childPID = Int32(String(decoding: try #require(try POSIX.readFile(dir.path + "/child.pid")), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        defer { if childPID > 0 { kill(childPID, SIGKILL) } }

        _ = try ArtifactStore(root: root)
        #expect(POSIX.exists(staging + "/outs/model/w.bin"), "a live owner's staging is never removed")

        // SIGKILL the stage's whole process tree (Foundation reaps the flock process only once every
        // inheritor of its monitoring descriptor, including the sleeping child, is gone).
        kill(writer.processIdentifier, SIGKILL)
        kill(childPID, SIGKILL)
        writer.waitUntilExit()
        #expect(store.record(forKey: key) == nil)
        #expect(try POSIX.listDirectory(store.objectsDirectory).isEmpty)
        let reopened = try ArtifactStore(root: root)
        #expect(!POSIX.exists(staging), "dead owner's staging is removed on open")
        #expect(!POSIX.exists(staging + ".owner"))
        #expect(reopened.record(forKey: key) == nil)
        #expect(try POSIX.listDirectory(reopened.stagesDirectory).isEmpty)
    }

    @Test func sameHostStagingOfALivePidIsKeptEvenWithoutItsLock() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        let host = POSIX.hostName.replacingOccurrences(of: "~", with: "_")
        let staging = store.temporaryDirectory + "/\(host)~\(sleeper.processIdentifier)~0123abcd~sft"
        try POSIX.makeDirectories(staging)
        try POSIX.writeNewFile(staging + ".owner", [], sync: false)
        _ = try makeStore(dir)
        #expect(POSIX.exists(staging), "pid alive on this host")
        kill(sleeper.processIdentifier, SIGKILL)  // SIGTERM may be blocked: children inherit the test thread's mask
        sleeper.waitUntilExit()
        _ = try makeStore(dir)
        #expect(!POSIX.exists(staging) && !POSIX.exists(staging + ".owner"), "pid dead and lock free")
    }

    @Test func orphanedTemporaryFilesAreRemovedOnlyWhenOld() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        let young = store.temporaryDirectory + "/record~otherhost~1~00~x.json"
        let old = store.temporaryDirectory + "/record~otherhost~2~00~y.json"
        try POSIX.writeNewFile(young, Array("{".utf8), sync: false)
        try POSIX.writeNewFile(old, Array("{".utf8), sync: false)
        setModificationTime(old, seconds: 1_600_000_000, nanoseconds: 0)
        // ctime is "now" for both, so neither is old yet: nothing removed.
        _ = try makeStore(dir)
        #expect(POSIX.exists(young) && POSIX.exists(old))
    }

    @Test func stagingDirectoriesAreReleasedOrRemoved() throws {
        let dir = try TemporaryDirectory()
        let store = try makeStore(dir)
        let staging = try store.makeStagingDirectory(label: "ppo/weird name")
        #expect(POSIX.lastComponent(staging.path).hasSuffix("~ppo_weird_name"))
        #expect(POSIX.exists(staging.path) && POSIX.exists(staging.path + ".owner"))
        // Our own staging survives another open in this process (same pid prefix).
        _ = try makeStore(dir)
        #expect(POSIX.exists(staging.path))
        staging.remove()
        #expect(!POSIX.exists(staging.path) && !POSIX.exists(staging.path + ".owner"))
    }

    @Test func storeRootResolution() {
        #expect(ArtifactStore.resolveRoot(explicit: nil, environment: [:], workingDirectory: "/w") == "/w/artifacts")
        #expect(ArtifactStore.resolveRoot(explicit: nil, environment: ["PIPE_STORE": "/data/store/"], workingDirectory: "/w") == "/data/store")
        #expect(ArtifactStore.resolveRoot(explicit: "s", environment: ["PIPE_STORE": "/x"], workingDirectory: "/w") == "/w/s")
    }
}
