import Columnar
import Foundation
import RandomTestSupport
import Testing

/// Damaged files: every truncation of a small file and random byte flips either read (a flip inside
/// text can leave a valid file) or fail with a `ColumnarError` naming what is wrong; never a trap, a
/// hang or another error type.
@Suite("columnar: damaged files")
struct ColumnarFuzzTests {
    static let files = ["conv-snappy-dict-v1.parquet", "conv-plain-v2-uncompressed.parquet", "conv-gzip-v2.parquet", "conv-zstd-v1.parquet",
                        "types-snappy.parquet", "types-plain-v2.parquet", "conv-stream.arrow", "conv-file.arrow", "conv-stream-zstd.arrow",
                        "types-stream.arrow", "types-large-file.arrow", "flat.csv"]

    static func check(_ bytes: [UInt8], suffix: String, in dir: String, what: String) throws {
        let path = dir + "/f" + suffix
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            let reader: ColumnarRows
            switch suffix {
            case ".parquet": reader = try ParquetRows(path: path)
            case ".csv": reader = try CSVRows(path: path)
            default: reader = try ArrowRows(path: path)
            }
            while try reader.next() != nil {}
        } catch let error as ColumnarError {
            #expect(!error.message.isEmpty, "\(what)")
        } catch {
            Issue.record("\(what): \(error) is not a ColumnarError")
        }
    }

    @Test(arguments: files)
    func truncationsAndByteFlipsFailCleanly(file: String) throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ColumnarFixtures.path(file))))
        let suffix = "." + (file as NSString).pathExtension
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("columnar-fuzz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Truncations: every length near both ends, then a stride through the middle.
        var lengths = Set(0..<min(64, original.count))
        lengths.formUnion(max(0, original.count - 64)..<original.count)
        lengths.formUnion(stride(from: 0, to: original.count, by: max(1, original.count / 97)))
        for n in lengths.sorted() { try Self.check(Array(original[..<n]), suffix: suffix, in: dir, what: "\(file) cut to \(n)") }
        var random = SplitMix64(seed: UInt64(file.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
        for trial in 0..<300 {
            var bytes = original
            let flips = 1 + Int(random.next() % 4)
            for _ in 0..<flips {
                let at = Int(random.next() % UInt64(bytes.count))
                // Half the time a byte near the end: the footer and the metadata are what decide sizes.
                let place = random.next() % 2 == 0 ? at : max(0, bytes.count - 1 - at % 400)
                bytes[place] ^= UInt8(truncatingIfNeeded: 1 + random.next() % 255)
            }
            try Self.check(bytes, suffix: suffix, in: dir, what: "\(file) flip trial \(trial)")
        }
    }
}
