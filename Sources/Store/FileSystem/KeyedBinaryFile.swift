import Foundation
import Hashing

/// A small per-host binary file of checked entries sorted by a fixed-length key: the format shared
/// by the stat cache (`statcache/<host>.bin`) and the record index (`statcache/<host>.records`).
///
/// Layout: magic (8 bytes; its last characters are the format version), entry count (u64 LE), then
/// the entries sorted by key bytes, each: key (`keySize` bytes), added-at (u64, seconds), payload
/// length (u32), payload, and 8 bytes of SHA-256 over everything before them in the entry.
///
/// Only ever a shortcut, so never trusted: a file with another magic (an older or newer version), a
/// count or lengths that do not add up (truncated, appended to) is ignored as a whole; an entry whose
/// check fails is a miss and is dropped by the next save. Opening is one `read` and one pass over
/// the entry lengths; a lookup is a binary search. Savers merge what is on disk with their own
/// entries under an advisory lock (`<file>.lock`, `flock`) and publish by renaming a temporary file,
/// so readers never see a partial file and concurrent savers do not lose each other's entries.
struct KeyedBinaryFile {
    let path: String
    /// 8 bytes, version included.
    let magic: [UInt8]
    let keySize: Int
    /// The most entries kept; a save beyond it keeps the most recently added.
    let maxEntries: Int

    static let headerSize = 16
    static let checkSize = 8
    /// Added-at (u64) and payload length (u32), after the key.
    static let lengthFieldsSize = 12
    /// How long a saver waits for another one before saving without the lock (an entry lost to
    /// the race only costs recomputing it).
    static let lockWaitNanoseconds: Int64 = 2_000_000_000

    init(path: String, magic: String, keySize: Int, maxEntries: Int) {
        precondition(magic.utf8.count == 8, "an 8-byte magic")
        self.path = path
        self.magic = Array(magic.utf8)
        self.keySize = keySize
        self.maxEntries = maxEntries
    }

    /// The file's bytes as read and where each entry starts, in key order.
    struct Image {
        var bytes: [UInt8] = []
        var offsets: [Int] = []
        let keySize: Int

        var count: Int { offsets.count }

        /// Where the entry with `key` starts, by binary search.
        func offset(of key: [UInt8]) -> Int? {
            precondition(key.count == keySize)
            return bytes.withUnsafeBytes { file in
                key.withUnsafeBytes { wanted in
                    var low = 0, high = offsets.count
                    while low < high {
                        let middle = (low + high) / 2
                        let order = memcmp(file.baseAddress! + offsets[middle], wanted.baseAddress!, keySize)
                        if order == 0 { return offsets[middle] }
                        if order < 0 { low = middle + 1 } else { high = middle }
                    }
                    return nil
                }
            }
        }

        /// The whole entry starting at `at`.
        func entry(at: Int) -> ArraySlice<UInt8> {
            bytes[at..<(at + KeyedBinaryFile.entryLength(bytes, at, keySize: keySize))]
        }
    }

    /// The file as an image; empty when it is missing, of another version or malformed.
    func load() -> Image {
        guard let bytes = (try? POSIX.readFile(path)) ?? nil, let image = parse(bytes) else { return Image(keySize: keySize) }
        return image
    }

    /// The image of `bytes` when they are a well-formed file of this kind (magic, count and lengths
    /// add up, keys strictly ascending); nil otherwise. Entry checks are left to the reader.
    func parse(_ bytes: [UInt8]) -> Image? {
        guard bytes.count >= Self.headerSize, bytes[0..<8].elementsEqual(magic) else { return nil }
        let count = Self.readU64(bytes, 8)
        let smallest = UInt64(keySize + Self.lengthFieldsSize + Self.checkSize)
        guard count <= UInt64(maxEntries) * 2, count * smallest <= UInt64(bytes.count - Self.headerSize) else { return nil }
        var offsets: [Int] = []
        offsets.reserveCapacity(Int(count))
        var at = Self.headerSize
        let ascending = bytes.withUnsafeBytes { file -> Bool in
            for _ in 0..<Int(count) {
                guard at + Int(smallest) <= bytes.count else { return false }
                let length = Self.entryLength(bytes, at, keySize: keySize)
                guard length <= bytes.count - at else { return false }
                if let previous = offsets.last, memcmp(file.baseAddress! + previous, file.baseAddress! + at, keySize) >= 0 { return false }
                offsets.append(at)
                at += length
            }
            return true
        }
        guard ascending, at == bytes.count else { return nil }
        return Image(bytes: bytes, offsets: offsets, keySize: keySize)
    }

    /// One encoded entry.
    func encodeEntry(key: [UInt8], addedAt: Int64, payload: [UInt8]) -> [UInt8] {
        precondition(key.count == keySize)
        var out = key
        out.reserveCapacity(keySize + Self.lengthFieldsSize + payload.count + Self.checkSize)
        Self.appendU64(&out, UInt64(bitPattern: addedAt))
        Self.appendU32(&out, UInt32(payload.count))
        out += payload
        out += SHA256.hash(out).bytes.prefix(Self.checkSize)
        return out
    }

    /// The payload of the entry at `at` in `bytes` when its check holds; nil for a damaged entry.
    func intactPayload(_ bytes: UnsafeRawBufferPointer, at: Int) -> Range<Int>? {
        guard at >= 0, keySize + Self.lengthFieldsSize + Self.checkSize <= bytes.count - at else { return nil }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at + keySize + 8, as: UInt32.self)))
        let payloadStart = at + keySize + Self.lengthFieldsSize
        guard length <= bytes.count - payloadStart - Self.checkSize else { return nil }
        let end = payloadStart + length
        let check = SHA256.hash(UnsafeRawBufferPointer(rebasing: bytes[at..<end])).bytes.prefix(Self.checkSize)
        guard check.elementsEqual(bytes[end..<(end + Self.checkSize)]) else { return nil }
        return payloadStart..<end
    }

    /// Merges `added` (key → encoded entry) into the file on disk, leaving out the keys in `dropping`
    /// and damaged entries, and returns what was written.
    func save(adding added: [[UInt8]: [UInt8]], dropping: Set<[UInt8]> = [], temporaryDirectory: String) throws -> Image {
        try POSIX.makeDirectories(POSIX.parentDirectory(path))
        let lock = Self.lockExclusively(path + ".lock")
        defer { if lock >= 0 { _ = flock(lock, LOCK_UN); close(lock) } }

        var merged: [[UInt8]: ArraySlice<UInt8>] = [:]
        let current = load()
        current.bytes.withUnsafeBytes { file in
            for at in current.offsets {
                let key = Array(current.bytes[at..<(at + keySize)])
                guard added[key] == nil, !dropping.contains(key), intactPayload(file, at: at) != nil else { continue }
                merged[key] = current.entry(at: at)
            }
        }
        for (key, entry) in added { merged[key] = entry[...] }
        let image = encodeFile(merged)
        let temporary = temporaryDirectory + "/" + POSIX.lastComponent(path) + "~\(getpid())~\(POSIX.randomHex()).tmp"
        try POSIX.writeNewFile(temporary, image.bytes, sync: false)
        let code = POSIX.rename(temporary, path)
        if code != 0 {
            unlink(temporary)
            throw POSIX.fail("rename", path, code)
        }
        return image
    }

    /// The file holding `entries` (key → encoded entry), sorted by key; beyond `maxEntries`, the
    /// most recently added are kept.
    func encodeFile(_ entries: [[UInt8]: ArraySlice<UInt8>]) -> Image {
        var keys = Array(entries.keys)
        if keys.count > maxEntries {
            // Ties by key, so the choice is deterministic.
            let addedAt = { (key: [UInt8]) -> UInt64 in
                entries[key]!.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: keySize, as: UInt64.self)) }
            }
            keys = Array(keys.map { (addedAt($0), $0) }
                .sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1.lexicographicallyPrecedes($1.1) }
                .prefix(maxEntries).map(\.1))
        }
        keys.sort { $0.lexicographicallyPrecedes($1) }
        var out = magic
        out.reserveCapacity(Self.headerSize + keys.reduce(0) { $0 + entries[$1]!.count })
        Self.appendU64(&out, UInt64(keys.count))
        var offsets: [Int] = []
        offsets.reserveCapacity(keys.count)
        for key in keys {
            offsets.append(out.count)
            out += entries[key]!
        }
        return Image(bytes: out, offsets: offsets, keySize: keySize)
    }

    /// An open descriptor holding `flock(LOCK_EX)` on `path`, or -1 when it cannot be had in time
    /// (read-only store, a stuck holder): the save then goes ahead unlocked.
    private static func lockExclusively(_ path: String) -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return -1 }
        let deadline = POSIX.nowNanoseconds() + lockWaitNanoseconds
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, POSIX.nowNanoseconds() < deadline else {
                close(fd)
                return -1
            }
            usleep(1_000)
        }
        return fd
    }

    /// Total length of the entry starting at `at` (key, lengths, payload, check).
    static func entryLength(_ bytes: [UInt8], _ at: Int, keySize: Int) -> Int {
        let payload = bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at + keySize + 8, as: UInt32.self)) }
        return keySize + lengthFieldsSize + Int(payload) + checkSize
    }

    static func appendU32(_ out: inout [UInt8], _ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    static func appendU64(_ out: inout [UInt8], _ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    static func readU64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
    }
}
