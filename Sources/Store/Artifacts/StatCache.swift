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
/// only mean something on the machine that saw them): magic, entry count, then fixed 88-byte entries
/// sorted by key, each ending with 8 bytes of SHA-256 over its first 80, checked when the entry is
/// used (a damaged entry is a miss; a file of the wrong length is ignored). Opening is one `read` and
/// a lookup a binary search: no parsing, no whole-file hash (`StoreBenchmark` compares this with a
/// SQLite table). Concurrent `pipe` processes merge on save; losing an entry only costs a re-hash.
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
    }

    struct Entry { var digest: Digest; var addedAt: Int64 }

    static let magic = Array("PIPESTC2".utf8)
    static let entrySize = 88
    static let racyWindowNanoseconds: Int64 = 100_000_000
    static let coarseRacyWindowNanoseconds: Int64 = 2_000_000_000

    static func racyWindow(_ status: FileStatus) -> Int64 {
        let wholeSeconds = status.modifiedNanoseconds % 1_000_000_000 == 0 && status.changedNanoseconds % 1_000_000_000 == 0
        return wholeSeconds ? coarseRacyWindowNanoseconds : racyWindowNanoseconds
    }
    static let maxEntries = 500_000

    let path: String
    private let lock = NSLock()
    /// The cache file as read (entries sorted by key), looked up by binary search.
    private var disk: [UInt8] = []
    private var diskCount = 0
    private var loaded = false
    /// Entries learnt by this process, not yet saved (and a copy after saving).
    private var added: [Key: Entry] = [:]
    private var unsaved = false

    init(path: String) { self.path = path }

    func lookup(_ status: FileStatus) -> Digest? {
        lock.lock(); defer { lock.unlock() }
        loadIfNeeded()
        let key = Key(status)
        if let entry = added[key] { return entry.digest }
        return Self.search(disk, count: diskCount, for: key)
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
        unsaved = true
    }

    var hasUnsavedEntries: Bool {
        lock.lock(); defer { lock.unlock() }
        return unsaved
    }

    /// Merges new entries into the file on disk (written to a temporary name, then renamed).
    func save(temporaryDirectory: String) throws {
        lock.lock(); defer { lock.unlock() }
        guard unsaved else { return }
        let current = (try? POSIX.readFile(path)) ?? nil
        var merged = current.flatMap { Self.validated($0) }.map { Self.decode($0.bytes, count: $0.count) } ?? [:]
        for (key, entry) in added { merged[key] = entry }
        if merged.count > Self.maxEntries {
            // Keep the most recently added entries.
            let keep = merged.sorted { ($0.value.addedAt, $0.key) > ($1.value.addedAt, $1.key) }.prefix(Self.maxEntries)
            merged = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
        let bytes = Self.encode(merged)
        let temporary = temporaryDirectory + "/statcache~\(POSIX.hostName)~\(getpid())~\(POSIX.randomHex()).tmp"
        try POSIX.makeDirectories(POSIX.parentDirectory(path))
        try POSIX.writeNewFile(temporary, bytes, sync: false)
        let code = POSIX.rename(temporary, path)
        if code != 0 {
            unlink(temporary)
            throw POSIX.fail("rename", path, code)
        }
        disk = bytes
        diskCount = merged.count
        unsaved = false
    }

    private func loadIfNeeded() {
        guard !loaded else { return }
        loaded = true
        if let bytes = (try? POSIX.readFile(path)) ?? nil, let valid = Self.validated(bytes) {
            disk = valid.bytes
            diskCount = valid.count
        }
    }

    static func encode(_ entries: [Key: Entry]) -> [UInt8] {
        var out = magic
        out.reserveCapacity(16 + entries.count * entrySize)
        appendU64(&out, UInt64(entries.count))
        for key in entries.keys.sorted() {
            let entry = entries[key]!
            let start = out.count
            appendU64(&out, key.device)
            appendU64(&out, key.inode)
            appendU64(&out, UInt64(bitPattern: key.size))
            appendU64(&out, UInt64(bitPattern: key.modified))
            appendU64(&out, UInt64(bitPattern: key.changed))
            appendU64(&out, UInt64(bitPattern: entry.addedAt))
            out.append(contentsOf: entry.digest.bytes)
            out.append(contentsOf: check(out, start))
        }
        return out
    }

    /// The first 8 bytes of SHA-256 over an entry's 80 data bytes.
    private static func check(_ bytes: [UInt8], _ at: Int) -> ArraySlice<UInt8> {
        bytes.withUnsafeBytes { SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[at..<(at + 80)])) }.bytes.prefix(8)
    }

    private static func entryIsIntact(_ bytes: [UInt8], _ at: Int) -> Bool {
        check(bytes, at).elementsEqual(bytes[(at + 80)..<(at + 88)])
    }

    /// The bytes and entry count when the file is well formed (magic and length); else nil.
    static func validated(_ bytes: [UInt8]) -> (bytes: [UInt8], count: Int)? {
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else { return nil }
        let count = Int(readU64(bytes, 8))
        guard count >= 0, count <= maxEntries * 2, bytes.count == 16 + count * entrySize else { return nil }
        return (bytes, count)
    }

    /// Every intact entry of a validated file.
    static func decode(_ bytes: [UInt8], count: Int) -> [Key: Entry] {
        var entries: [Key: Entry] = [:]
        entries.reserveCapacity(count)
        for index in 0..<count {
            let at = 16 + index * entrySize
            guard entryIsIntact(bytes, at) else { continue }
            entries[key(bytes, at)] = Entry(digest: Digest(bytes: Array(bytes[(at + 48)..<(at + 80)])),
                                            addedAt: Int64(bitPattern: readU64(bytes, at + 40)))
        }
        return entries
    }

    /// Binary search over the sorted entries of a validated file; a damaged entry counts as a miss.
    static func search(_ bytes: [UInt8], count: Int, for wanted: Key) -> Digest? {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            let at = 16 + middle * entrySize
            let found = key(bytes, at)
            if found == wanted {
                guard entryIsIntact(bytes, at) else { return nil }
                return Digest(bytes: Array(bytes[(at + 48)..<(at + 80)]))
            }
            if found < wanted { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    private static func key(_ bytes: [UInt8], _ at: Int) -> Key {
        Key(device: readU64(bytes, at), inode: readU64(bytes, at + 8), size: Int64(bitPattern: readU64(bytes, at + 16)),
            modified: Int64(bitPattern: readU64(bytes, at + 24)), changed: Int64(bitPattern: readU64(bytes, at + 32)))
    }

    private static func appendU64(_ out: inout [UInt8], _ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func readU64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
    }
}
