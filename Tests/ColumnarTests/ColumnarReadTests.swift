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
            "refuse-int96.parquet": #"column "t" has physical type INT96, which is not read; cast it to a string or a number before saving"#,
            "refuse-float16.parquet": #"column "h" has logical type FLOAT16, which is not read; cast it to a string or a number before saving"#,
            "refuse-date.parquet": #"column "d" has logical type DATE, which is not read; cast it to a string or a number before saving"#,
            "refuse-decimal.parquet": #"column "p" has logical type DECIMAL, which is not read; cast it to a string or a number before saving"#,
            "refuse-nan.parquet": #"column "x" holds NaN or an infinity, which JSON has no form for; replace them before saving"#,
            "refuse-timestamp.arrow": #"column "c" has Arrow type Timestamp, which is not read; cast it to a string or a number before saving"#,
            "refuse-float16.arrow": #"column "c" is a half-precision float, which is not read; cast it to float32 before saving"#,
            "refuse-binary.arrow": #"column "c" is binary, which is not read; store text as strings"#,
            "refuse-infinity.arrow": #"column "c" holds NaN or an infinity, which JSON has no form for; replace them before saving"#,
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

    /// Damage that a real writer never makes, made by hand: each named for what it is.
    @Test func handDamagedFilesAreNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("columnar-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func write(_ name: String, _ bytes: [UInt8]) throws -> String {
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
            return dir + "/" + name
        }
        let plain = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ColumnarFixtures.path("conv-plain-v2-uncompressed.parquet"))))
        // Uncompressed and without dictionaries, the strings stand in the file as they are (after their
        // 4-byte length: the statistics in the page headers hold them without one).
        let gamma = [5, 0, 0, 0] + Array("gamma".utf8)
        let at = (0...(plain.count - gamma.count)).first { Array(plain[$0..<$0 + gamma.count]) == gamma }! + 4
        var invalid = plain
        invalid[at] = 0xFF
        #expect(ColumnarFixtures.failure(try write("utf8.parquet", invalid)) == #"column "tag", row group 0 holds a string that is not valid UTF-8"#)
        var encrypted = plain
        encrypted.replaceSubrange((plain.count - 4)..., with: Array("PARE".utf8))
        #expect(ColumnarFixtures.failure(try write("enc.parquet", encrypted)) == "the Parquet file is encrypted, which is not read; save it without encryption")
        var longFooter = plain
        longFooter.replaceSubrange((plain.count - 8)..<(plain.count - 4), with: [0xFF, 0xFF, 0xFF, 0x7F])
        #expect(ColumnarFixtures.failure(try write("footer.parquet", longFooter))
            == "corrupt Parquet file: its footer length (2147483647 bytes) exceeds the file (\(plain.count) bytes)")
        let length = Int(UInt32(plain[plain.count - 8]) | UInt32(plain[plain.count - 7]) << 8 | UInt32(plain[plain.count - 6]) << 16)
        var footer = plain
        for i in (plain.count - 8 - length)..<(plain.count - 8) { footer[i] = 0xFF }
        #expect(ColumnarFixtures.failure(try write("garbled.parquet", footer)) == "corrupt Parquet file: its footer (the file metadata) is damaged")
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ColumnarFixtures.path("conv-file.arrow"))))
        #expect(ColumnarFixtures.failure(try write("cut-file.arrow", Array(file.dropLast(3))))
            == "corrupt Arrow file: cut short or damaged (it starts with ARROW1 but does not end with it)")
        #expect(ColumnarFixtures.failure(try write("short.parquet", Array("PAR1PAR1".utf8))) == "corrupt Parquet file: cut short (8 bytes, no footer)")
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
