import Columnar
import Foundation
import JSONQuoting
import Testing

/// Parquet and Arrow files as pyarrow and `datasets` write them read as exactly the rows their JSON
/// Lines twin holds: every codec, page version, encoding, nesting and null placement the fixtures cover.
@Suite("columnar: Parquet and Arrow rows")
struct ColumnarReadTests {
    static let conversationFiles = [
        "conv-snappy-dict-v1.parquet", "conv-plain-v2-uncompressed.parquet", "conv-gzip-v2.parquet", "conv-zstd-v1.parquet",
        "conv-datasets.parquet", "conv-stream.arrow", "conv-file.arrow", "conv-stream-zstd.arrow",
    ]

    @Test(arguments: conversationFiles)
    func conversationsReadAsTheirJSONLines(file: String) throws {
        let expected = try ColumnarFixtures.jsonRows("conversations")
        let rows = try ColumnarFixtures.rows(ColumnarFixtures.path(file))
        #expect(rows.count == expected.count)
        for (i, (row, want)) in zip(rows, expected).enumerated() where row != want {
            Issue.record("\(file) row \(i): \(row) != \(want)")
            break
        }
    }

    @Test(arguments: ["types-snappy.parquet", "types-plain-v2.parquet", "types-stream.arrow"])
    func everyTypeAndNullPlacementReads(file: String) throws {
        let expected = try ColumnarFixtures.jsonRows("types")
        let rows = try ColumnarFixtures.rows(ColumnarFixtures.path(file))
        #expect(rows.count == expected.count)
        for (i, (row, want)) in zip(rows, expected).enumerated() where row != want {
            Issue.record("\(file) row \(i): \(row) != \(want)")
            break
        }
    }

    @Test func largeStringAndListTypesRead() throws {
        #expect(try ColumnarFixtures.rows(ColumnarFixtures.path("types-large-file.arrow")) == (try ColumnarFixtures.jsonRows("types-large")))
    }

    @Test func saveToDiskShardsReadInOrder() throws {
        let a = try ColumnarFixtures.rows(ColumnarFixtures.path("saved-dataset/data-00000-of-00002.arrow"))
        let b = try ColumnarFixtures.rows(ColumnarFixtures.path("saved-dataset/data-00001-of-00002.arrow"))
        #expect(a + b == (try ColumnarFixtures.jsonRows("conversations")))
    }

    /// What is not read is named, with how to re-save it.
    @Test func refusalsNameWhatIsNotRead() throws {
        let resave = "re-save the file with pyarrow's defaults, e.g. pyarrow.parquet.write_table(pyarrow.parquet.read_table(src), dst)"
        let expected: [String: String] = [
            "refuse-lz4.parquet": #"column "prompt" is compressed with LZ4_RAW, which is not read; re-save the file with compression 'snappy', 'gzip', 'zstd' or 'none', e.g. pyarrow.parquet.write_table(pyarrow.parquet.read_table(src), dst)"#,
            "refuse-delta.parquet": #"column "n" uses encoding DELTA_BINARY_PACKED, which is not read; "# + resave,
            "refuse-timestamp.parquet": #"column "t" has logical type TIMESTAMP, which is not read; cast it to a string or a number before saving"#,
            "refuse-map.parquet": #"column "m" is a MAP, which is not read; store it as a list of structs or as JSON text"#,
            "refuse-binary.parquet": #"column "b" is binary (BYTE_ARRAY without a string annotation), which is not read; store text as strings"#,
            "refuse-dictionary.arrow": #"column "tag" is dictionary-encoded, which is not read; decode it before saving (e.g. Dataset.cast or pyarrow's dictionary_decode)"#,
            "refuse-lz4.arrow": "the Arrow file's buffers are compressed with LZ4, which is not read; save it uncompressed or with ZSTD",
        ]
        for (file, message) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(ColumnarFixtures.failure(ColumnarFixtures.path(file)) == message, "\(file)")
        }
    }

    @Test func notColumnarFilesAreNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("columnar-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("{\"a\": 1}\n".utf8).write(to: URL(fileURLWithPath: dir + "/x.parquet"))
        try Data("{\"a\": 1}\n".utf8).write(to: URL(fileURLWithPath: dir + "/x.arrow"))
        try Data().write(to: URL(fileURLWithPath: dir + "/empty.arrow"))
        let whole = try Data(contentsOf: URL(fileURLWithPath: ColumnarFixtures.path("conv-snappy-dict-v1.parquet")))
        try whole.prefix(whole.count - 100).write(to: URL(fileURLWithPath: dir + "/cut.parquet"))
        let stream = try Data(contentsOf: URL(fileURLWithPath: ColumnarFixtures.path("conv-stream.arrow")))
        try stream.prefix(stream.count - 8).write(to: URL(fileURLWithPath: dir + "/cut.arrow"))
        #expect(ColumnarFixtures.failure(dir + "/x.parquet") == "not a Parquet file (it does not start with PAR1)")
        #expect(ColumnarFixtures.failure(dir + "/x.arrow") == "not an Arrow file (it does not start with an Arrow schema message)")
        #expect(ColumnarFixtures.failure(dir + "/empty.arrow") == "not an Arrow file (it is empty)")
        #expect(ColumnarFixtures.failure(dir + "/cut.parquet") == "corrupt Parquet file: cut short or damaged (it does not end with PAR1)")
        #expect(ColumnarFixtures.failure(dir + "/cut.arrow") == "corrupt Arrow file: cut short (no end-of-stream marker)")
    }
}

extension ColumnarReadTests {
    /// 6000 rows in 512-byte pages and row groups of 5000: rows cross pages, and the pages a row
    /// group's rows have used are dropped as reading goes on. Both page versions read as the Arrow stream.
    @Test func manySmallPagesReadAsTheArrowStream() throws {
        let expected = try ColumnarFixtures.rows(ColumnarFixtures.path("many.arrow"))
        #expect(expected.count == 6000)
        for file in ["many-pages-v1.parquet", "many-pages-v2.parquet"] {
            let rows = try ColumnarFixtures.rows(ColumnarFixtures.path(file))
            #expect(rows.count == expected.count, "\(file)")
            for (i, (row, want)) in zip(rows, expected).enumerated() where row != want {
                Issue.record("\(file) row \(i): \(row) != \(want)")
                break
            }
        }
    }
}
