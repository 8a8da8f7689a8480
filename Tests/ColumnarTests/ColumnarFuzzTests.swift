@testable import Columnar
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
        let seed = ProcessInfo.processInfo.environment["COLUMNAR_FUZZ_SEED"].flatMap(UInt64.init) ?? 0
        var random = SplitMix64(seed: seed &+ UInt64(file.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
        // COLUMNAR_FUZZ_TRIALS=N (and COLUMNAR_FUZZ_SEED=S) run a deeper search than the suite's default.
        let trials = ProcessInfo.processInfo.environment["COLUMNAR_FUZZ_TRIALS"].flatMap(Int.init) ?? 150
        for trial in 0..<trials {
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

extension ColumnarFuzzTests {
    /// Found by a deeper fuzz run: a group whose children count more elements than follow, once its
    /// earlier children have used some up.
    @Test func aSchemaWithTooManyNestedChildrenIsNamed() throws {
        func element(_ name: String, children: Int32?, type: Int32? = nil) -> ParquetSchemaElement {
            var e = ParquetSchemaElement()
            e.name = name
            e.numChildren = children
            e.type = type
            e.repetition = 1
            return e
        }
        #expect(throws: ColumnarError("corrupt Parquet file: the schema's groups have more children than the schema has elements")) {
            try ParquetSchema([element("schema", children: 2), element("g", children: 1), element("x", children: nil, type: 6)])
        }
    }
}
