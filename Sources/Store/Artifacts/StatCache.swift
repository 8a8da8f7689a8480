import Foundation
import Hashing

/// Memoises file content digests by (device, inode, size, mtime ns, ctime ns), so an unchanged
/// 1 GiB input is not re-hashed on every `pipe run`.
///
/// Only a shortcut: any change to the stat tuple re-hashes, and staleness is always decided by the
/// content digest that comes out. Two guards against "racy" entries (a file rewritten within one
/// timestamp tick, so its tuple does not change): a file whose status changed while it was hashed
/// is not cached, and neither is a file modified less than a window before it was hashed — 100 ms
/// when its timestamps have sub-second parts (Linux ticks are 1–10 ms), 2 s when both are whole
/// seconds (filesystems with second granularity, e.g. ext4 with small inodes, some NFS servers).
/// Such files are simply hashed again next time.
///
/// Persisted as one compact binary file per host, `statcache/<host>.bin` (device and inode numbers
/// only mean something on the machine that saw them), in the `KeyedBinaryFile` format: the 40-byte
/// stat tuple as key, the 32-byte digest as payload, each entry checked when it is used (a damaged
/// entry is a miss; a malformed file or one of another version is ignored and rebuilt). Opening is
/// one `read` and a lookup a binary search: no parsing, no whole-file hash (`StoreBenchmark`
/// compares this with a SQLite table). Concurrent `pipe` processes merge on save.
final class StatCache: @unchecked Sendable {
    struct Key: Hashable, Comparable {
        var device: UInt64, inode: UInt64, size: Int64, modified: Int64, changed: Int64

        init(_ status: FileStatus) {
            device = status.device; inode = status.inode; size = status.size
            modified = status.modifiedNanoseconds; changed = status.changedNanoseconds
        }

        init(device: UInt64, inode: UInt64, size: Int64, modified: Int64, changed: Int64) {
            self.device = device; self.inode = inode; self.size = size; self.modified = modified; self.changed = changed
        }

        static func < (a: Key, b: Key) -> Bool {
            (a.device, a.inode, a.size, a.modified, a.changed) < (b.device, b.inode, b.size, b.modified, b.changed)
        }

        /// The five fields, little-endian: the key in the file.
        var bytes: [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(StatCache.keySize)
            for value in [device, inode, UInt64(bitPattern: size), UInt64(bitPattern: modified), UInt64(bitPattern: changed)] {
                KeyedBinaryFile.appendU64(&out, value)
            }
            return out
        }
    }

    struct Entry { var digest: Digest; var addedAt: Int64 }

    /// Version 3: the shared keyed-file layout (version 2 had fixed 88-byte entries).
    static let magic = "PIPESTC3"
    static let keySize = 40
    static let racyWindowNanoseconds: Int64 = 100_000_000
    static let coarseRacyWindowNanoseconds: Int64 = 2_000_000_000

    static func racyWindow(_ status: FileStatus) -> Int64 {
        let wholeSeconds = status.modifiedNanoseconds % 1_000_000_000 == 0 && status.changedNanoseconds % 1_000_000_000 == 0
        return wholeSeconds ? coarseRacyWindowNanoseconds : racyWindowNanoseconds
    }
    static let maxEntries = 500_000

    var path: String { file.path }
    let file: KeyedBinaryFile
    private let lock = NSLock()
    /// The cache file as read, looked up by binary search.
    private var disk: KeyedBinaryFile.Image
    private var loaded = false
    /// Entries learnt by this process, not yet saved.
    private var added: [Key: Entry] = [:]

    init(path: String) {
        file = KeyedBinaryFile(path: path, magic: Self.magic, keySize: Self.keySize, maxEntries: Self.maxEntries)
        disk = KeyedBinaryFile.Image(keySize: Self.keySize)
    }

    func lookup(_ status: FileStatus) -> Digest? {
        lock.lock(); defer { lock.unlock() }
        loadIfNeeded()
        let key = Key(status)
        if let entry = added[key] { return entry.digest }
        return Self.search(disk, file: file, for: key)
    }

    /// Remembers a digest unless the file looks racy (changed while hashing, or modified too recently).
    func insert(before: FileStatus, after: FileStatus?, digest: Digest, now: Int64 = POSIX.nowNanoseconds()) {
        guard let after, after == before else { return }
        let newest = max(before.modifiedNanoseconds, before.changedNanoseconds)
        guard now - newest >= Self.racyWindow(before) else { return }
        let entry = Entry(digest: digest, addedAt: now / 1_000_000_000)
        lock.lock(); defer { lock.unlock() }
        loadIfNeeded()
        added[Key(before)] = entry
    }

    var hasUnsavedEntries: Bool {
        lock.lock(); defer { lock.unlock() }
        return !added.isEmpty
    }

    /// Merges new entries into the file on disk (written to a temporary name, then renamed).
    func save(temporaryDirectory: String) throws {
        lock.lock(); defer { lock.unlock() }
        guard !added.isEmpty else { return }
        disk = try file.save(adding: Self.encodedEntries(added, file: file), temporaryDirectory: temporaryDirectory)
        loaded = true
        added = [:]
    }

    private func loadIfNeeded() {
        guard !loaded else { return }
        loaded = true
        disk = file.load()
    }

    private static func encodedEntries(_ entries: [Key: Entry], file: KeyedBinaryFile) -> [[UInt8]: [UInt8]] {
        var encoded: [[UInt8]: [UInt8]] = [:]
        encoded.reserveCapacity(entries.count)
        for (key, entry) in entries {
            let bytes = key.bytes
            encoded[bytes] = file.encodeEntry(key: bytes, addedAt: entry.addedAt, payload: entry.digest.bytes)
        }
        return encoded
    }

    /// The bytes of a cache file holding `entries` (benchmarks and tests).
    static func encode(_ entries: [Key: Entry]) -> [UInt8] {
        let file = KeyedBinaryFile(path: "", magic: magic, keySize: keySize, maxEntries: maxEntries)
        return file.encodeFile(encodedEntries(entries, file: file).mapValues { $0[...] }).bytes
    }

    /// Binary search over the entries of a loaded file; a damaged entry counts as a miss.
    static func search(_ image: KeyedBinaryFile.Image, file: KeyedBinaryFile, for wanted: Key) -> Digest? {
        guard let at = image.offset(of: wanted.bytes) else { return nil }
        return image.bytes.withUnsafeBytes { bytes in
            guard let payload = file.intactPayload(bytes, at: at), payload.count == 32 else { return nil }
            return Digest(bytes: Array(bytes[payload]))
        }
    }
}
