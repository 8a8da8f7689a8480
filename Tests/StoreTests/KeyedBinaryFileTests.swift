import Foundation
import Hashing
import Testing
@testable import Store

/// The keyed binary file behind the stat cache and the record index: a damaged, truncated or
/// foreign file is ignored and rebuilt, never trusted; concurrent savers keep each other's entries.
@Suite("Keyed binary file")
struct KeyedBinaryFileTests {
    func file(_ dir: TemporaryDirectory, magic: String = "PIPETST1", maxEntries: Int = 1_000) -> KeyedBinaryFile {
        KeyedBinaryFile(path: dir.path + "/cache/test.bin", magic: magic, keySize: 4, maxEntries: maxEntries)
    }

    func key(_ n: Int) -> [UInt8] { [UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] }

    /// Payloads of different lengths, so entry boundaries are not regular.
    func payload(_ n: Int) -> [UInt8] { Array("value \(n) ".utf8) + [UInt8](repeating: UInt8(n % 251), count: n % 7) }

    func entries(_ file: KeyedBinaryFile, _ numbers: some Sequence<Int>, addedAt: Int64 = 1_700_000_000) -> [[UInt8]: [UInt8]] {
        var result: [[UInt8]: [UInt8]] = [:]
        for n in numbers { result[key(n)] = file.encodeEntry(key: key(n), addedAt: addedAt, payload: payload(n)) }
        return result
    }

    /// Key → payload of every intact entry of the file on disk.
    func contents(_ file: KeyedBinaryFile) -> [[UInt8]: [UInt8]] {
        let image = file.load()
        var result: [[UInt8]: [UInt8]] = [:]
        image.bytes.withUnsafeBytes { bytes in
            for at in image.offsets {
                guard let range = file.intactPayload(bytes, at: at) else { continue }
                result[Array(image.bytes[at..<(at + file.keySize)])] = Array(bytes[range])
            }
        }
        return result
    }

    func expected(_ numbers: some Sequence<Int>) -> [[UInt8]: [UInt8]] {
        Dictionary(uniqueKeysWithValues: numbers.map { (key($0), payload($0)) })
    }

    func overwrite(_ path: String, _ bytes: [UInt8]) throws {
        unlink(path)
        try POSIX.writeNewFile(path, bytes, sync: false)
    }

    @Test func savedEntriesAreFoundSortedAndTheSameBytesWhateverTheInsertionOrder() throws {
        let dir = try TemporaryDirectory()
        let cache = file(dir)
        let saved = try cache.save(adding: entries(cache, [30, 2, 17, 5]), temporaryDirectory: dir.path)
        #expect(contents(cache) == expected([2, 5, 17, 30]))
        #expect(saved.bytes == cache.load().bytes)
        let at = try #require(saved.offset(of: key(17)))
        #expect(saved.bytes.withUnsafeBytes { cache.intactPayload($0, at: at) } != nil)
        #expect(saved.offset(of: key(18)) == nil)

        let other = try TemporaryDirectory()
        let reordered = file(other)
        var added: [[UInt8]: [UInt8]] = [:]
        for n in [5, 17, 2, 30] { added.merge(entries(reordered, [n])) { $1 } }
        _ = try reordered.save(adding: added, temporaryDirectory: other.path)
        #expect(try POSIX.readFile(reordered.path) == (try POSIX.readFile(cache.path)), "deterministic bytes")
    }

    @Test func everyTruncationIsIgnoredAndTheNextSaveRebuildsTheFile() throws {
        let dir = try TemporaryDirectory()
        let cache = file(dir)
        _ = try cache.save(adding: entries(cache, 0..<5), temporaryDirectory: dir.path)
        let good = try #require(try POSIX.readFile(cache.path))
        for length in 0..<good.count {
            try overwrite(cache.path, Array(good.prefix(length)))
            #expect(cache.load().count == 0, "truncated to \(length) of \(good.count) bytes")
        }
        // Appended garbage: the lengths no longer add up either.
        try overwrite(cache.path, good + [0, 1, 2])
        #expect(cache.load().count == 0)

        try overwrite(cache.path, Array(good.prefix(good.count - 3)))
        _ = try cache.save(adding: entries(cache, [9]), temporaryDirectory: dir.path)
        #expect(contents(cache) == expected([9]), "nothing of the truncated file is kept")
    }

    @Test func aDamagedEntryIsAMissAndIsDroppedOnSave() throws {
        let dir = try TemporaryDirectory()
        let cache = file(dir)
        let saved = try cache.save(adding: entries(cache, 0..<4), temporaryDirectory: dir.path)
        let at = try #require(saved.offset(of: key(2)))
        var bytes = saved.bytes
        bytes[at + cache.keySize + KeyedBinaryFile.lengthFieldsSize + 1] ^= 0x01  // one bit of the payload
        try overwrite(cache.path, bytes)
        #expect(contents(cache) == expected([0, 1, 3]))

        _ = try cache.save(adding: entries(cache, [7]), temporaryDirectory: dir.path)
        #expect(contents(cache) == expected([0, 1, 3, 7]))
        #expect(cache.load().count == 4, "the damaged entry is gone from the file")

        // A length field pointing past the end: the whole file is malformed.
        let rebuilt = cache.load()
        var broken = rebuilt.bytes
        broken[rebuilt.offsets[0] + cache.keySize + 8] = 0xFF
        try overwrite(cache.path, broken)
        #expect(cache.load().count == 0)
    }

    @Test func keysOutOfOrderMakeTheFileMalformed() throws {
        let dir = try TemporaryDirectory()
        let cache = file(dir)
        let saved = try cache.save(adding: entries(cache, [1, 2]), temporaryDirectory: dir.path)
        let first = Array(saved.entry(at: saved.offsets[0])), second = Array(saved.entry(at: saved.offsets[1]))
        try overwrite(cache.path, Array(saved.bytes.prefix(KeyedBinaryFile.headerSize)) + second + first)
        #expect(cache.load().count == 0, "a binary search over unsorted keys could miss entries")
    }

    @Test func anotherVersionIsIgnoredAndReplaced() throws {
        let dir = try TemporaryDirectory()
        let old = file(dir, magic: "PIPETST1")
        _ = try old.save(adding: entries(old, 0..<3), temporaryDirectory: dir.path)
        let new = file(dir, magic: "PIPETST2")
        #expect(new.load().count == 0, "same layout, other version: not read")
        _ = try new.save(adding: entries(new, [8]), temporaryDirectory: dir.path)
        #expect(contents(new) == expected([8]))
        #expect(old.load().count == 0, "and the old reader ignores the new version in turn")
    }

    @Test func concurrentSaversKeepEachOthersEntries() throws {
        let dir = try TemporaryDirectory()
        let savers = 8, each = 40
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: savers) { saver in
            let cache = file(dir)  // its own descriptor, as another process would have
            let mine = entries(cache, (saver * each)..<((saver + 1) * each))
            // Save in a few rounds, so saves interleave with the others' reads and renames.
            for round in 0..<4 {
                let part = mine.filter { Int($0.key[3]) % 4 == round }
                do { _ = try cache.save(adding: part, temporaryDirectory: dir.path) } catch { failures.add("\(error)") }
            }
        }
        #expect(failures.all.isEmpty)
        #expect(contents(file(dir)) == expected(0..<(savers * each)))
        let leftovers = try POSIX.listDirectory(dir.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test func theNewestEntriesAreKeptBeyondTheLimit() throws {
        let dir = try TemporaryDirectory()
        let cache = file(dir, maxEntries: 3)
        _ = try cache.save(adding: entries(cache, 0..<3, addedAt: 100), temporaryDirectory: dir.path)
        _ = try cache.save(adding: entries(cache, [10, 11], addedAt: 200), temporaryDirectory: dir.path)
        let kept = contents(cache)
        #expect(kept.count == 3)
        #expect(kept[key(10)] != nil && kept[key(11)] != nil)
        #expect(kept[key(0)] != nil, "ties among the older ones go to the smallest key")
    }
}

/// Errors collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ text: String) { lock.lock(); items.append(text); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}

/// `statcache/<host>.written`: a file is current only while it keeps the identity it had when it
/// was remembered with the same fingerprint.
@Suite("Written-file memo")
struct WrittenFileMemoTests {
    @Test func aRememberedFileIsCurrentUntilItOrItsFingerprintChanges() throws {
        let dir = try TemporaryDirectory()
        try dir.write("p.lock", "lock text")
        let path = dir.path + "/p.lock"
        let later = POSIX.nowNanoseconds() + 10_000_000_000
        let memo = WrittenFileMemo(path: dir.path + "/memo.bin")
        let fingerprint = SHA256.hash("inputs")
        #expect(!memo.isCurrent(path, fingerprint: fingerprint))
        memo.remember(path, fingerprint: fingerprint)
        #expect(!memo.isCurrent(path, fingerprint: fingerprint), "just written: too recent to trust its timestamps")
        memo.remember(path, fingerprint: fingerprint, now: later)
        #expect(memo.isCurrent(path, fingerprint: fingerprint))
        #expect(!memo.isCurrent(path, fingerprint: SHA256.hash("other inputs")))
        try memo.save(temporaryDirectory: dir.path)
        let reopened = WrittenFileMemo(path: dir.path + "/memo.bin")
        #expect(reopened.isCurrent(path, fingerprint: fingerprint), "saved for the next process")

        usleep(20_000)  // past a timestamp tick (the memo's racy window guards real runs)
        try dir.write("p.lock", "lock texT")  // same size
        #expect(!reopened.isCurrent(path, fingerprint: fingerprint))
        unlink(path)
        #expect(!reopened.isCurrent(path, fingerprint: fingerprint))
    }
}
