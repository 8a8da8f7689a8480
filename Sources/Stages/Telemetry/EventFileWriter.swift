#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes TensorBoard event files by hand: TFRecord framing around `Event` protocol buffers holding
/// scalar summaries (no TensorFlow or protobuf dependency).
///
/// Record: `u64 length | u32 masked_crc32c(length bytes) | data | u32 masked_crc32c(data)`, little-endian.
/// Event (proto3): `wall_time = 1 (double)`, `step = 2 (int64)`, `file_version = 3` or
/// `summary = 5 { value = 1 { tag = 1, simple_value = 2 (float) } }`.
public final class EventFileWriter {
    /// Event files are named `events.out.tfevents.<seconds>.<host>`; TensorBoard only needs the
    /// `tfevents` part. A fixed name keeps the artifact's bytes independent of time and machine.
    public static let fileName = "events.out.tfevents.0000000000.pipe"

    public let path: String
    private let handle: UnsafeMutablePointer<FILE>

    /// Creates `directory/events.out.tfevents.0000000000.pipe` and writes the version header event;
    /// with `append`, continues an existing file (a resumed run) instead.
    public init(directory: String, append: Bool = false) throws {
        path = directory + "/" + Self.fileName
        guard let h = fopen(path, append ? "ab" : "wb") else { throw StageError.failed("cannot create \(path): \(String(cString: strerror(errno)))") }
        handle = h
        if !append { try writeRecord(Self.versionEvent()) }
    }

    deinit { fclose(handle) }

    /// Appends one event with a scalar per (tag, value); `wallTime` is in seconds since the epoch.
    public func write(step: Int, wallTime: Double, scalars: [(String, Double)]) throws {
        try writeRecord(Self.scalarEvent(step: step, wallTime: wallTime, scalars: scalars))
    }

    public func flush() { fflush(handle) }

    private func writeRecord(_ data: [UInt8]) throws {
        let record = Self.frame(data)
        let written = record.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        guard written == record.count else { throw StageError.failed("write to \(path) failed: \(String(cString: strerror(errno)))") }
    }

    // MARK: Encoding (static, so tests can check exact bytes)

    public static func frame(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let length = littleEndian(UInt64(data.count))
        out += length
        out += littleEndian(CRC32C.masked(length))
        out += data
        out += littleEndian(CRC32C.masked(data))
        return out
    }

    public static func versionEvent(wallTime: Double = 0) -> [UInt8] {
        var event: [UInt8] = [0x09] + littleEndian(wallTime.bitPattern)
        event += lengthDelimited(field: 3, Array("brain.Event:2".utf8))
        return event
    }

    public static func scalarEvent(step: Int, wallTime: Double, scalars: [(String, Double)]) -> [UInt8] {
        var summary: [UInt8] = []
        for (tag, value) in scalars {
            var v = lengthDelimited(field: 1, Array(tag.utf8))
            v += [0x15] + littleEndian(Float(value).bitPattern)
            summary += lengthDelimited(field: 1, v)
        }
        var event: [UInt8] = [0x09] + littleEndian(wallTime.bitPattern)
        if step != 0 { event += [0x10] + varint(UInt64(bitPattern: Int64(step))) }  // proto3 omits zero defaults
        event += lengthDelimited(field: 5, summary)
        return event
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var v = value
        var out: [UInt8] = []
        repeat {
            let byte = UInt8(v & 0x7F)
            v >>= 7
            out.append(v == 0 ? byte : byte | 0x80)
        } while v != 0
        return out
    }

    static func lengthDelimited(field: UInt64, _ payload: [UInt8]) -> [UInt8] {
        varint(field << 3 | 2) + varint(UInt64(payload.count)) + payload
    }

    static func littleEndian<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }
}
