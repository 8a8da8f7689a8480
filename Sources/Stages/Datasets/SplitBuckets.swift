#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hashing

/// An external sort by content hash with de-duplication, so an import's memory does not grow with
/// its source: records are spilled to per-split bucket files in scratch by the top bits of their
/// order digest; each bucket (a 1/2^bits slice of the hash line) is then sorted in memory and the
/// buckets are concatenated in order. Identical records share a digest, hence a bucket, so
/// duplicates are found there without a global set.
///
/// Bucket line: `<order digest hex>\t<main text lengths, comma-separated>\t<record JSON>\n`
/// (record JSON never holds a raw tab or newline: JSONText escapes them).
final class SplitBuckets {
    /// What one split's file received.
    struct Outcome {
        var kept = 0
        var duplicates = 0
        /// Records dropped because the same order key (a labelled text) came with different records.
        var conflicting = 0
        /// Per main field (index into the lengths): min, sum, max characters over kept records.
        var lengths: [(min: Int, sum: Int, max: Int)] = []
    }

    private let directory: String
    private let bits: Int
    private let splits: [String]
    private var buffers: [[UInt8]]
    /// Per-bucket buffer size: 8 MiB over all buckets, at least 8 KiB each.
    private let flushSize: Int

    /// - Parameter sourceBytes: the sources' total size: about 8 MiB of records per bucket, ≤ 256 buckets.
    init(directory: String, splits: [String], sourceBytes: Int) {
        self.directory = directory
        self.splits = splits
        var bits = 0
        while bits < 8 && (sourceBytes >> (23 + bits)) > 0 { bits += 1 }
        self.bits = bits
        buffers = Array(repeating: [], count: splits.count << bits)
        flushSize = max(8 << 10, (8 << 20) / (splits.count << bits))
    }

    private var bucketCount: Int { 1 << bits }
    private static let orderSalt = Array("pipe.order.v1\n".utf8)

    private func path(split: Int, bucket: Int) -> String { directory + "/\(splits[split]).\(bucket).bucket" }

    /// Adds a record: `orderKey` decides its position (and duplicates), `lengths` feed the stats.
    func add(split: String, orderKey: [UInt8], lengths: [Int], line: [UInt8]) throws {
        try add(split: split, orderDigest: Self.orderDigest(orderKey), lengths: lengths, line: line)
    }

    /// The digest that orders a record (`orderKey`'s salted SHA-256): pure, so it may be computed on any thread.
    static func orderDigest(_ orderKey: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(orderSalt)
        orderKey.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize().bytes
    }

    /// `add` with the order digest already computed.
    func add(split: String, orderDigest digest: [UInt8], lengths: [Int], line: [UInt8]) throws {
        guard let s = splits.firstIndex(of: split) else { throw StageError.failed("internal: unknown split \(split)") }
        let bucket = bits == 0 ? 0 : Int(digest[0]) >> (8 - bits)
        let slot = s << bits | bucket
        JSONBytes.appendHex(digest, to: &buffers[slot])
        buffers[slot].append(0x09)
        for (i, n) in lengths.enumerated() {
            if i > 0 { buffers[slot].append(UInt8(ascii: ",")) }
            buffers[slot].append(contentsOf: String(n).utf8)
        }
        buffers[slot].append(0x09)
        buffers[slot].append(contentsOf: line)
        buffers[slot].append(0x0A)
        if buffers[slot].count >= flushSize { try flush(slot) }
    }

    private func flush(_ slot: Int) throws {
        guard !buffers[slot].isEmpty else { return }
        let file = path(split: slot >> bits, bucket: slot & (bucketCount - 1))
        let fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw StageError.failed("\(file): cannot write (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        try buffers[slot].withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                guard n > 0 else { throw StageError.failed("\(file): write failed (\(String(cString: strerror(errno))))") }
                offset += n
            }
        }
        buffers[slot].removeAll(keepingCapacity: false)
    }

    /// Writes one split's records to `output` in order, without duplicates; `fieldCount` is the
    /// number of lengths each record carries.
    func finish(split: String, to output: String, fieldCount: Int) throws -> Outcome {
        guard let s = splits.firstIndex(of: split) else { throw StageError.failed("internal: unknown split \(split)") }
        var outcome = Outcome(lengths: Array(repeating: (Int.max, 0, 0), count: fieldCount))
        let writer = try BufferedFileWriter(path: output)
        for bucket in 0..<bucketCount {
            let slot = s << bits | bucket
            try flush(slot)
            let file = path(split: s, bucket: bucket)
            guard let bytes = try Self.readAll(file) else { continue }
            unlink(file)
            var entries: [(order: ArraySlice<UInt8>, lengths: ArraySlice<UInt8>, line: ArraySlice<UInt8>)] = []
            for raw in bytes.split(separator: 0x0A) {
                let parts = raw.split(separator: 0x09, maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count == 3 else { throw StageError.failed("internal: damaged bucket \(file)") }
                entries.append((parts[0], parts[1], parts[2]))
            }
            entries.sort { a, b in
                a.order != b.order ? a.order.lexicographicallyPrecedes(b.order) : a.line.lexicographicallyPrecedes(b.line)
            }
            var i = 0
            while i < entries.count {
                var j = i + 1
                while j < entries.count, entries[j].order == entries[i].order { j += 1 }
                let group = entries[i..<j]
                if group.allSatisfy({ $0.line == group.first!.line }) {
                    outcome.kept += 1
                    outcome.duplicates += group.count - 1
                    try writer.write(group.first!.line)
                    try writer.write(CollectionOfOne(0x0A))
                    let lengths = group.first!.lengths.split(separator: UInt8(ascii: ",")).map { Int(String(decoding: $0, as: UTF8.self)) ?? 0 }
                    for (k, n) in lengths.enumerated() where k < fieldCount {
                        outcome.lengths[k] = (min(outcome.lengths[k].min, n), outcome.lengths[k].sum + n, max(outcome.lengths[k].max, n))
                    }
                } else {
                    outcome.conflicting += group.count
                }
                i = j
            }
        }
        try writer.close()
        return outcome
    }

    /// The whole file, or nil when it does not exist.
    static func readAll(_ path: String) throws -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            bytes.append(contentsOf: chunk[0..<n])
            if n < chunk.count { break }
        }
        if ferror(file) != 0 { throw StageError.failed("\(path): read error") }
        return bytes
    }
}

/// Appends bytes to a new file through a 1 MiB buffer.
final class BufferedFileWriter {
    private let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: [UInt8] = []

    init(path: String) throws {
        guard let file = fopen(path, "wb") else { throw StageError.failed("\(path): cannot create (\(String(cString: strerror(errno))))") }
        self.path = path
        self.file = file
        buffer.reserveCapacity(1 << 20)
    }

    deinit { fclose(file) }

    func write(_ bytes: some Collection<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try drain() }
    }

    func write(_ text: String) throws { try write(Array(text.utf8)) }

    private func drain() throws {
        let n = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard n == buffer.count else { throw StageError.failed("\(path): write failed (\(String(cString: strerror(errno))))") }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try drain()
        guard fflush(file) == 0 else { throw StageError.failed("\(path): write failed (\(String(cString: strerror(errno))))") }
    }
}
