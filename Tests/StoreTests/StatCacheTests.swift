import Foundation
import Hashing
import Testing
@testable import Store

@Suite("Stat cache")
struct StatCacheTests {
    /// Writes a file and backdates it past the racy window (mtime only: ctime cannot be set, so the
    /// cache is given a "now" far enough ahead instead).
    func status(_ path: String) throws -> FileStatus { try #require(try POSIX.status(path, followSymlinks: true)) }

    @Test func hitSkipsHashingAndSurvivesReopen() throws {
        let dir = try TemporaryDirectory()
        try dir.write("input.bin", "some input bytes")
        let path = dir.path + "/input.bin"
        let cache = StatCache(path: dir.path + "/cache.bin")
        let st = try status(path)
        let digest = SHA256.hash("some input bytes")
        cache.insert(before: st, after: st, digest: digest, now: max(st.modifiedNanoseconds, st.changedNanoseconds) + 3_000_000_000)
        #expect(cache.lookup(st) == digest)
        try cache.save(temporaryDirectory: dir.path)
        let reopened = StatCache(path: dir.path + "/cache.bin")
        #expect(reopened.lookup(st) == digest)
    }

    @Test func theCacheIsUsedForUnchangedFiles() throws {
        // Proof that a hit really avoids hashing: plant a deliberately wrong digest for the file's
        // exact stat tuple; the scanner returns it (a real store never lies like this).
        let dir = try TemporaryDirectory()
        try dir.write("input.bin", "abc")
        let path = dir.path + "/input.bin"
        let cache = StatCache(path: dir.path + "/cache.bin")
        let st = try status(path)
        let planted = SHA256.hash("not the content")
        cache.insert(before: st, after: st, digest: planted, now: max(st.modifiedNanoseconds, st.changedNanoseconds) + 3_000_000_000)
        let manifest = try ArtifactScanner(statCache: cache).manifest(ofPath: path)
        #expect(manifest.root == .file(size: 3, digest: planted, executable: false))
    }

    @Test func sameSizeRewriteWithRestoredMtimeIsReHashed() throws {
        let dir = try TemporaryDirectory()
        try dir.write("input.bin", "version-1")
        let path = dir.path + "/input.bin"
        setModificationTime(path, seconds: 1_600_000_000, nanoseconds: 123)
        let cache = StatCache(path: dir.path + "/cache.bin")
        let before = try status(path)
        cache.insert(before: before, after: before, digest: SHA256.hash("version-1"),
                     now: max(before.modifiedNanoseconds, before.changedNanoseconds) + 3_000_000_000)

        // Same size, mtime restored (like `cp -p` or a careless tool): ctime still moves.
        usleep(20_000)
        try dir.write("input.bin", "version-2")
        setModificationTime(path, seconds: 1_600_000_000, nanoseconds: 123)
        let after = try status(path)
        #expect(after.size == before.size && after.modifiedNanoseconds == before.modifiedNanoseconds)
        let manifest = try ArtifactScanner(statCache: cache).manifest(ofPath: path)
        #expect(manifest.root == .file(size: 9, digest: SHA256.hash("version-2"), executable: false), "content decides")
    }

    @Test func racyFilesAreNotCached() throws {
        let cache = StatCache(path: NSTemporaryDirectory() + "/never-saved-\(getpid()).bin")
        let modified: Int64 = 1_700_000_000_123_456_789
        let fine = FileStatus(device: 1, inode: 1, size: 5, mode: 0o100644, modifiedNanoseconds: modified, changedNanoseconds: modified)
        cache.insert(before: fine, after: fine, digest: SHA256.hash("a"), now: modified + 50_000_000)
        #expect(cache.lookup(fine) == nil, "modified 50 ms before hashing: racy")
        cache.insert(before: fine, after: fine, digest: SHA256.hash("a"), now: modified + 150_000_000)
        #expect(cache.lookup(fine) == SHA256.hash("a"))

        // Whole-second timestamps (coarse filesystem): the window is 2 s.
        let second: Int64 = 1_700_000_000_000_000_000
        let coarse = FileStatus(device: 1, inode: 2, size: 5, mode: 0o100644, modifiedNanoseconds: second, changedNanoseconds: second)
        cache.insert(before: coarse, after: coarse, digest: SHA256.hash("b"), now: second + 1_500_000_000)
        #expect(cache.lookup(coarse) == nil)
        cache.insert(before: coarse, after: coarse, digest: SHA256.hash("b"), now: second + 2_500_000_000)
        #expect(cache.lookup(coarse) == SHA256.hash("b"))

        // A file that changed while being hashed is not cached either.
        let before = FileStatus(device: 1, inode: 3, size: 5, mode: 0o100644, modifiedNanoseconds: modified, changedNanoseconds: modified)
        var after = before
        after.size += 1
        cache.insert(before: before, after: after, digest: SHA256.hash("c"), now: modified + 10_000_000_000)
        #expect(cache.lookup(before) == nil)
    }

    @Test func damagedCacheFileIsIgnored() throws {
        let dir = try TemporaryDirectory()
        let cache = StatCache(path: dir.path + "/cache.bin")
        let st = FileStatus(device: 1, inode: 2, size: 3, mode: 0o100644, modifiedNanoseconds: 4, changedNanoseconds: 5)
        cache.insert(before: st, after: st, digest: SHA256.hash("a"), now: 10_000_000_000)
        try cache.save(temporaryDirectory: dir.path)
        let good = try #require(try POSIX.readFile(dir.path + "/cache.bin"))
        #expect(StatCache(path: dir.path + "/cache.bin").lookup(st) == SHA256.hash("a"))
        for offset in [30, 16 + 48 + 5, 16 + 85] {  // in the key, the digest, the entry check
            var bytes = good
            bytes[offset] ^= 0xFF
            unlink(dir.path + "/cache.bin")
            try POSIX.writeNewFile(dir.path + "/cache.bin", bytes, sync: false)
            #expect(StatCache(path: dir.path + "/cache.bin").lookup(st) == nil, "byte \(offset) damaged")
        }
        let bytes = good
        try POSIX.writeNewFile(dir.path + "/short.bin", Array(bytes.prefix(40)), sync: false)
        #expect(StatCache(path: dir.path + "/short.bin").lookup(st) == nil)
    }

    @Test func aCacheFileOfTheOldVersionIsIgnoredAndReplaced() throws {
        let dir = try TemporaryDirectory()
        let st = FileStatus(device: 1, inode: 2, size: 3, mode: 0o100644, modifiedNanoseconds: 4, changedNanoseconds: 5)
        // Version 2's layout: magic, count, one fixed 88-byte entry for exactly this stat tuple.
        var old = Array("PIPESTC2".utf8) + [1, 0, 0, 0, 0, 0, 0, 0]
        for value: UInt64 in [1, 2, 3, 4, 5, 10] { withUnsafeBytes(of: value.littleEndian) { old += $0 } }
        old += SHA256.hash("a").bytes + [UInt8](repeating: 0, count: 8)
        try POSIX.writeNewFile(dir.path + "/cache.bin", old, sync: false)
        let cache = StatCache(path: dir.path + "/cache.bin")
        #expect(cache.lookup(st) == nil)
        cache.insert(before: st, after: st, digest: SHA256.hash("b"), now: 10_000_000_000)
        try cache.save(temporaryDirectory: dir.path)
        let saved = try #require(try POSIX.readFile(dir.path + "/cache.bin"))
        #expect(Array(saved.prefix(8)) == Array(StatCache.magic.utf8))
        #expect(StatCache(path: dir.path + "/cache.bin").lookup(st) == SHA256.hash("b"))
    }

    @Test func concurrentSavesMerge() throws {
        let dir = try TemporaryDirectory()
        let a = StatCache(path: dir.path + "/cache.bin")
        let b = StatCache(path: dir.path + "/cache.bin")
        let s1 = FileStatus(device: 1, inode: 1, size: 1, mode: 0o100644, modifiedNanoseconds: 1, changedNanoseconds: 1)
        let s2 = FileStatus(device: 1, inode: 2, size: 1, mode: 0o100644, modifiedNanoseconds: 1, changedNanoseconds: 1)
        _ = b.lookup(s1)  // b loads the (empty) file before a saves
        a.insert(before: s1, after: s1, digest: SHA256.hash("1"), now: 10_000_000_000)
        try a.save(temporaryDirectory: dir.path)
        b.insert(before: s2, after: s2, digest: SHA256.hash("2"), now: 10_000_000_000)
        try b.save(temporaryDirectory: dir.path)
        let merged = StatCache(path: dir.path + "/cache.bin")
        #expect(merged.lookup(s1) == SHA256.hash("1"))
        #expect(merged.lookup(s2) == SHA256.hash("2"))
    }

    @Test func storeDigestPersistsEntriesAndANewStoreHitsThem() throws {
        let dir = try TemporaryDirectory()
        try dir.write("data/in.txt", "payload")
        usleep(150_000)  // out of the racy window
        let expected = try ArtifactScanner(statCache: nil).manifest(ofPath: dir.path + "/data").digest
        let store = try ArtifactStore(root: dir.path + "/store")
        #expect(try store.digest(ofPath: dir.path + "/data") == expected)
        #expect(POSIX.exists(store.statCache.path), "saved on the way out of digest(ofPath:)")
        let reopened = try ArtifactStore(root: dir.path + "/store")
        let status = try #require(try POSIX.status(dir.path + "/data/in.txt"))
        #expect(reopened.statCache.lookup(status) == SHA256.hash("payload"))
    }
}
