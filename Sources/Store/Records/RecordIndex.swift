import Foundation
import Hashing

/// `statcache/<host>.records`: what `record(forKey:)` learnt from each stage record file, so a cache
/// hit costs a `stat` of the record and of its objects instead of reading, JSON-decoding and
/// checking the file (a no-op rerun of a 1,000-stage sweep did that 1,000 times).
///
/// Only a shortcut, like the stat cache: an entry is used only while the record file has the same
/// (device, inode, size, mtime ns, ctime ns) as when it was read, so a record replaced (`--force`,
/// a pull), removed (`gc`, quarantine) or edited is read again. Records are published by renaming a
/// new file, so a replacement always changes the inode; files modified within the racy window
/// before they were read are not indexed (see `StatCache`). The objects a record names are still
/// checked on every hit, against the shapes kept in the entry (`ObjectShape`: one `lstat` per entry
/// of the object, no reading of shapes/).
///
/// Format: `KeyedBinaryFile` (magic `PIPERIX3`), keyed by the stage key; the payload is the record
/// file's identity (5 × u64) and then the record (`encodePayload`). An entry is decoded only when
/// looked up, and used only when its check holds; a malformed file or one of another version is
/// ignored and rebuilt. Concurrent `pipe` processes merge on save.
final class RecordIndex: @unchecked Sendable {
    /// The record file's identity when it was read.
    struct Identity: Equatable {
        var device: UInt64, inode: UInt64, size: Int64, modified: Int64, changed: Int64

        init(_ status: FileStatus) {
            device = status.device; inode = status.inode; size = status.size
            modified = status.modifiedNanoseconds; changed = status.changedNanoseconds
        }

        init(device: UInt64, inode: UInt64, size: Int64, modified: Int64, changed: Int64) {
            self.device = device; self.inode = inode; self.size = size; self.modified = modified; self.changed = changed
        }
    }

    /// The shape of one referenced object as it was when the entry was made.
    enum ShapeMemo: Equatable {
        /// No shape file then (an object from an older store): look again on each hit.
        case unrecorded
        /// The shape file's bytes.
        case recorded([UInt8])
    }

    /// A record as the index keeps it: everything but the key material (read from the record file
    /// if asked for), and the shapes of the objects it names.
    struct Entry {
        var record: StageRecord
        var shapes: [(object: Digest, shape: ShapeMemo)]
    }

    static let magic = "PIPERIX3"
    static let keySize = 32
    /// The record file's identity (5 × u64) at the start of each payload.
    static let identitySize = 40
    static let maxEntries = 200_000
    /// A shape larger than this (a directory object with many files) is not copied into the index;
    /// the hit reads shapes/ for it as before.
    static let maxShapeBytes = 16 << 10

    var path: String { file.path }
    let file: KeyedBinaryFile
    private let lock = NSLock()
    private var loaded = false
    /// The index file as read.
    private var disk: KeyedBinaryFile.Image
    /// Entries this process learnt (encoded), not yet saved.
    private var added: [Digest: [UInt8]] = [:]
    /// Keys whose entry on disk no longer matched its record file (dropped on save).
    private var stale: Set<Digest> = []
    private var unsaved = false

    init(path: String) {
        file = Self.file(path: path)
        disk = KeyedBinaryFile.Image(keySize: Self.keySize)
    }

    static func file(path: String) -> KeyedBinaryFile {
        KeyedBinaryFile(path: path, magic: magic, keySize: keySize, maxEntries: maxEntries)
    }

    /// The entry for `key` if it was made from a record file with exactly this identity.
    func lookup(_ key: Digest, identity: Identity, recordPath: String) -> Entry? {
        lock.lock(); defer { lock.unlock() }
        loadIfNeeded()
        if let bytes = added[key] {
            return bytes.withUnsafeBytes { Self.decode($0, at: 0, key: key, identity: identity, recordPath: recordPath) }
        }
        guard let at = disk.offset(of: key.bytes) else { return nil }
        let entry = disk.bytes.withUnsafeBytes { Self.decode($0, at: at, key: key, identity: identity, recordPath: recordPath) }
        if entry == nil { stale.insert(key) }
        return entry
    }

    /// Remembers a record read from a file with `status`, unless the file is too new to trust its
    /// timestamps (the same racy window as the stat cache).
    func insert(_ record: StageRecord, status: FileStatus, shapes: [(object: Digest, shape: ShapeMemo)],
                now: Int64 = POSIX.nowNanoseconds()) {
        let newest = max(status.modifiedNanoseconds, status.changedNanoseconds)
        guard now - newest >= StatCache.racyWindow(status) else { return }
        let bytes = Self.encode(record, identity: Identity(status), addedAt: now / 1_000_000_000, shapes: shapes)
        lock.lock(); defer { lock.unlock() }
        added[record.key] = bytes
        stale.remove(record.key)
        unsaved = true
    }

    var hasUnsavedEntries: Bool {
        lock.lock(); defer { lock.unlock() }
        return unsaved
    }

    /// Merges this process's entries into the file on disk (written to a temporary name, renamed).
    func save(temporaryDirectory: String) throws {
        lock.lock(); defer { lock.unlock() }
        guard unsaved else { return }
        var entries: [[UInt8]: [UInt8]] = [:]
        entries.reserveCapacity(added.count)
        for (key, bytes) in added { entries[key.bytes] = bytes }
        disk = try file.save(adding: entries, dropping: Set(stale.map(\.bytes)), temporaryDirectory: temporaryDirectory)
        loaded = true
        added = [:]
        stale = []
        unsaved = false
    }

    private func loadIfNeeded() {
        guard !loaded else { return }
        loaded = true
        disk = file.load()
    }

    // MARK: Format

    /// One encoded entry of the index file.
    static func encode(_ record: StageRecord, identity: Identity, addedAt: Int64,
                       shapes: [(object: Digest, shape: ShapeMemo)]) -> [UInt8] {
        var payload: [UInt8] = []
        payload.reserveCapacity(identitySize + 512)
        for value in [identity.device, identity.inode, UInt64(bitPattern: identity.size), UInt64(bitPattern: identity.modified),
                      UInt64(bitPattern: identity.changed)] {
            KeyedBinaryFile.appendU64(&payload, value)
        }
        payload += encodePayload(record, shapes: shapes)
        return file(path: "").encodeEntry(key: record.key.bytes, addedAt: addedAt, payload: payload)
    }

    /// format, stage, outputs (sorted by name), log, metrics (sorted by name), started, finished,
    /// created (a `Date`'s own Double), exit status, CPU seconds (flag byte + f64), host, shapes. Strings are u32 length + UTF-8.
    static func encodePayload(_ record: StageRecord, shapes: [(object: Digest, shape: ShapeMemo)]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        appendString(&out, record.format)
        appendString(&out, record.stage)
        let outputNames = record.outputs.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        KeyedBinaryFile.appendU32(&out, UInt32(outputNames.count))
        for name in outputNames {
            appendString(&out, name)
            out += record.outputs[name]!.bytes
        }
        if let log = record.log { out.append(1); out += log.bytes } else { out.append(0) }
        let metricNames = record.metrics.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        KeyedBinaryFile.appendU32(&out, UInt32(metricNames.count))
        for name in metricNames {
            appendString(&out, name)
            KeyedBinaryFile.appendU64(&out, record.metrics[name]!.bitPattern)
        }
        for date in [record.startedAt, record.finishedAt, record.createdAt] {
            KeyedBinaryFile.appendU64(&out, date.timeIntervalSinceReferenceDate.bitPattern)
        }
        KeyedBinaryFile.appendU32(&out, UInt32(bitPattern: record.exitStatus))
        if let cpu = record.cpuSeconds { out.append(1); KeyedBinaryFile.appendU64(&out, cpu.bitPattern) } else { out.append(0) }
        appendString(&out, record.host)
        KeyedBinaryFile.appendU32(&out, UInt32(shapes.count))
        for (object, shape) in shapes {
            out += object.bytes
            switch shape {
            case .unrecorded: out.append(0)
            case .recorded(let bytes): out.append(1); KeyedBinaryFile.appendU32(&out, UInt32(bytes.count)); out += bytes
            }
        }
        return out
    }

    /// The entry at `at` when its key and identity match and its check holds; nil otherwise.
    static func decode(_ bytes: UnsafeRawBufferPointer, at: Int, key: Digest, identity: Identity, recordPath: String) -> Entry? {
        var reader = Reader(bytes: bytes, position: at)
        guard let keyBytes = reader.take(keySize), keyBytes.elementsEqual(key.bytes), reader.u64() != nil, reader.u32() != nil,
              let device = reader.u64(), let inode = reader.u64(), let size = reader.u64(), let modified = reader.u64(),
              let changed = reader.u64() else { return nil }
        // The identity first: a replaced record file is the common miss, and needs no hashing.
        guard Identity(device: device, inode: inode, size: Int64(bitPattern: size), modified: Int64(bitPattern: modified),
                       changed: Int64(bitPattern: changed)) == identity,
              let payload = file(path: "").intactPayload(bytes, at: at) else { return nil }
        return decodePayload(&reader, end: payload.upperBound, key: key, recordPath: recordPath)
    }

    private static func decodePayload(_ reader: inout Reader, end: Int, key: Digest, recordPath: String) -> Entry? {
        guard let format = reader.string(), let stage = reader.string(), let outputCount = reader.u32() else { return nil }
        var outputs: [String: Digest] = [:]
        for _ in 0..<outputCount {
            guard let name = reader.string(), let digest = reader.digest() else { return nil }
            outputs[name] = digest
        }
        guard let hasLog = reader.u8() else { return nil }
        var log: Digest?
        if hasLog == 1 { guard let digest = reader.digest() else { return nil }; log = digest }
        guard let metricCount = reader.u32() else { return nil }
        var metrics: [String: Double] = [:]
        for _ in 0..<metricCount {
            guard let name = reader.string(), let bits = reader.u64() else { return nil }
            metrics[name] = Double(bitPattern: bits)
        }
        guard let started = reader.u64(), let finished = reader.u64(), let created = reader.u64(),
              let exitStatus = reader.u32(), let hasCPU = reader.u8() else { return nil }
        var cpuSeconds: Double?
        if hasCPU == 1 { guard let bits = reader.u64() else { return nil }; cpuSeconds = Double(bitPattern: bits) }
        guard let host = reader.string(), let shapeCount = reader.u32() else { return nil }
        var shapes: [(object: Digest, shape: ShapeMemo)] = []
        for _ in 0..<shapeCount {
            guard let object = reader.digest(), let kind = reader.u8() else { return nil }
            if kind == 1 {
                guard let count = reader.u32(), let bytes = reader.take(Int(count)) else { return nil }
                shapes.append((object, .recorded(Array(bytes))))
            } else {
                shapes.append((object, .unrecorded))
            }
        }
        guard reader.position == end else { return nil }
        let record = StageRecord(indexedKey: key, format: format, stage: stage, keyMaterialFile: recordPath, outputs: outputs,
                                 log: log, metrics: metrics,
                                 startedAt: Date(timeIntervalSinceReferenceDate: Double(bitPattern: started)),
                                 finishedAt: Date(timeIntervalSinceReferenceDate: Double(bitPattern: finished)),
                                 exitStatus: Int32(bitPattern: exitStatus), cpuSeconds: cpuSeconds, host: host,
                                 createdAt: Date(timeIntervalSinceReferenceDate: Double(bitPattern: created)))
        return Entry(record: record, shapes: shapes)
    }

    /// Bounds-checked little-endian reads.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position: Int

        mutating func take(_ count: Int) -> Slice<UnsafeRawBufferPointer>? {
            guard count >= 0, count <= bytes.count - position else { return nil }
            defer { position += count }
            return bytes[position..<(position + count)]
        }
        mutating func u8() -> UInt8? { take(1).map { $0.first! } }
        mutating func u32() -> UInt32? {
            guard 4 <= bytes.count - position else { return nil }
            defer { position += 4 }
            return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        }
        mutating func u64() -> UInt64? {
            guard 8 <= bytes.count - position else { return nil }
            defer { position += 8 }
            return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        }
        mutating func digest() -> Digest? { take(32).map { Digest(bytes: Array($0)) } }
        mutating func string() -> String? {
            guard let count = u32(), let raw = take(Int(count)) else { return nil }
            return String(validating: raw, as: UTF8.self)
        }
    }

    private static func appendString(_ out: inout [UInt8], _ text: String) {
        KeyedBinaryFile.appendU32(&out, UInt32(text.utf8.count))
        out += text.utf8
    }
}
