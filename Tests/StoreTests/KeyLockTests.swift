import Foundation
import Hashing
import Testing
@testable import Store

@Suite("Per-key locks")
struct KeyLockTests {
    @Test func tryLockExcludesWithinAProcessAndReleases() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let key = SHA256.hash("k")
        let held = try #require(try store.tryLock(key: key))
        #expect(try store.tryLock(key: key) == nil)
        #expect(try store.tryLock(key: SHA256.hash("other key")) != nil, "locks are per key, not global")
        #expect(store.lockHolder(key: key) == "\(getpid())@\(POSIX.hostName)")
        held.unlock()
        #expect(try store.tryLock(key: key) != nil)
    }

    @Test func blockingLockWaitsForAnotherThread() async throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let key = SHA256.hash("k")
        let held = try store.lock(key: key)
        let start = ContinuousClock.now
        let waiter = Task.detached { () throws -> Duration in
            let lock = try store.lock(key: key)
            defer { lock.unlock() }
            return ContinuousClock.now - start
        }
        try await Task.sleep(for: .milliseconds(200))
        held.unlock()
        let waited = try await waiter.value
        #expect(waited >= .milliseconds(190))
    }

    /// Two processes build the same key: the second waits for the first, then finds its record and
    /// uses it instead of building again.
    @Test(.enabled(if: commandExists("/usr/bin/flock")))
    func secondProcessWaitsThenFindsTheRecord() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        try dir.write("out.txt", "built once")
        let out = try store.ingest(dir.path + "/out.txt")
        let key = SHA256.hash("shared key")
        let prepared = StageRecord(key: key, stage: "sft", keyMaterial: .null, outputs: ["out": out],
                                   startedAt: Date(timeIntervalSince1970: 1_700_000_000),
                                   finishedAt: Date(timeIntervalSince1970: 1_700_000_001),
                                   createdAt: Date(timeIntervalSince1970: 1_700_000_002))
        // The record the other process will publish, prepared outside stages/.
        let pending = dir.path + "/pending.json"
        try POSIX.writeNewFile(pending, [UInt8](try StoreJSON.encoder().encode(prepared)), sync: false)

        // Process 1 (flock + sh): holds the key lock for 0.5 s while "building", commits by rename.
        let builder = Process()
        builder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        builder.arguments = [store.lockPath(forKey: key.hex), "/bin/sh", "-c",
                             "touch '\(dir.path)/started'; sleep 0.5; mv '\(pending)' '\(store.recordPath(forKey: key))'"]
        try builder.run()
        for _ in 0..<500 where !POSIX.exists(dir.path + "/started") { usleep(5_000) }

        // Process 2 (us): the key is busy, so we wait; afterwards the record is there.
        #expect(try store.tryLock(key: key) == nil)
        #expect(store.record(forKey: key) == nil)
        var builtHere = false
        let result = try store.withLock(key: key) { () -> StageRecord in
            if let record = store.record(forKey: key) { return record }
            builtHere = true
            return prepared
        }
        builder.waitUntilExit()
        #expect(!builtHere)
        #expect(result == prepared)
    }

    @Test(.enabled(if: commandExists("/usr/bin/flock")))
    func lockOfAKilledProcessIsReleased() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let key = SHA256.hash("k")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["-o", store.lockPath(forKey: key.hex), "/bin/sh", "-c", "echo $$ > '\(dir.path)/held'; exec sleep 30"]
        try holder.run()
        for _ in 0..<500 where (try? POSIX.readFile(dir.path + "/held"))??.last != UInt8(ascii: "\n") { usleep(5_000) }
        let sleeper = Int32(String(decoding: try #require(try POSIX.readFile(dir.path + "/held")), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        defer { if sleeper > 0 { kill(sleeper, SIGKILL) } }
        #expect(try store.tryLock(key: key) == nil)
        kill(holder.processIdentifier, SIGKILL)
        kill(sleeper, SIGKILL)
        holder.waitUntilExit()
        #expect(try store.tryLock(key: key) != nil)
    }

    @Test func gcRemovesOnlyFreeLockFilesAndLockersSurviveIt() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let busy = SHA256.hash("busy"), idle = SHA256.hash("idle")
        let held = try store.lock(key: busy)
        try store.lock(key: idle).unlock()
        _ = try store.garbageCollect(keepKeys: [], dryRun: false, grace: .zero)
        #expect(POSIX.exists(store.lockPath(forKey: busy.hex)), "a held lock file stays")
        #expect(!POSIX.exists(store.lockPath(forKey: idle.hex)), "a free lock file of a key without a record goes")

        // A locker that opened the file before gc unlinked it must not hold the key on the dead inode.
        let stale = open(store.lockPath(forKey: busy.hex), O_RDWR)
        defer { close(stale) }
        held.unlock()
        #expect(store.removeLockFileIfFree(name: busy.hex))
        let fresh = try #require(try store.tryLock(key: busy))
        #expect(flock(stale, LOCK_EX | LOCK_NB) == 0, "the old inode is lockable, and means nothing now")
        var current = stat()
        #expect(stat(store.lockPath(forKey: busy.hex), &current) == 0)
        var old = stat()
        fstat(stale, &old)
        #expect(old.st_ino != current.st_ino)
        fresh.unlock()
    }

    @Test func badLockNamesAreRejected() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        #expect(throws: StoreError.self) { try store.tryLock(name: "../escape") }
        #expect(throws: StoreError.self) { try store.tryLock(name: "") }
    }
}
