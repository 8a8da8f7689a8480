import Columnar
import Foundation
import JSONQuoting
import Testing

/// CSV and TSV files read as `datasets.Dataset.from_csv(...).to_json(...)` exports them: quoting,
/// line breaks in fields, pandas' column types and missing values.
@Suite("columnar: CSV rows")
struct CSVRowsTests {
    static func rows(_ path: String, separator: UInt8 = UInt8(ascii: ",")) throws -> [JSONValue] {
        let reader = try CSVRows(path: path, separator: separator)
        var rows: [JSONValue] = []
        while let row = try reader.next() { rows.append(row) }
        return rows
    }

    @Test func csvAndTSVReadAsFromCSVExportsThem() throws {
        #expect(try Self.rows(ColumnarFixtures.path("flat.csv")) == (try ColumnarFixtures.jsonRows("flat-from-csv")))
        #expect(try Self.rows(ColumnarFixtures.path("flat.tsv"), separator: 9) == (try ColumnarFixtures.jsonRows("flat-from-tsv")))
    }

    static func text(_ text: String) throws -> [JSONValue] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("csv-\(UUID().uuidString).csv").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try rows(path)
    }

    static func failure(_ text: String) -> String {
        do { _ = try Self.text(text); return "" } catch { return "\(error)" }
    }

    static func failure(bytes: [UInt8]) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("csv-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        do { try Data(bytes).write(to: URL(fileURLWithPath: path)); _ = try rows(path); return "" } catch { return "\(error)" }
    }

    @Test func quotingLineBreaksBlankLinesAndTypes() throws {
        let rows = try Self.text("\u{FEFF}a,b,c,d\r\n\"x, \"\"y\"\"\nz\",1,True,1.5\r\n\r\nplain,,false,2\n\"\",3\n")
        #expect(rows == [
            .object([JSONMember("a", .string("x, \"y\"\nz")), JSONMember("b", .number(1)), JSONMember("c", .bool(true)), JSONMember("d", .number(1.5))]),
            .object([JSONMember("a", .string("plain")), JSONMember("b", .null), JSONMember("c", .bool(false)), JSONMember("d", .number(2))]),
            .object([JSONMember("a", .null), JSONMember("b", .number(3)), JSONMember("c", .null), JSONMember("d", .null)]),
        ])
        // One value that is not a number makes the column strings; pandas' missing spellings stay null.
        #expect(try Self.text("n\n1\nNA\nx\n") == [.object([JSONMember("n", .string("1"))]), .object([JSONMember("n", .null)]),
                                                  .object([JSONMember("n", .string("x"))])])
    }

    @Test func badCSVIsNamed() throws {
        #expect(Self.failure("") == "the CSV file is empty (no header row)")
        #expect(Self.failure("a,b,a\n1,2,3\n") == #"the CSV header names column "a" twice"#)
        #expect(Self.failure("a,,b\n") == "the CSV header has an empty column name")
        #expect(Self.failure("a,b\n1,\"open\n2,3\n") == "corrupt CSV file: the quoted field that starts on line 2 is not closed")
        #expect(Self.failure("a,b\n1,2\n1,2,3\n") == "line 3 has 3 fields, the header 2")
        #expect(Self.failure(bytes: Array("a\nok\n".utf8) + [0xFF, 0x0A]) == "line 3 holds text that is not valid UTF-8")
        #expect(Self.failure("prompt,n\nok,1\n\"[{'role': 'user', 'content': 'Hi'}]\",2\n")
            == #"row 2, column "prompt": a list of messages written as Python text ("[{'role': 'user', 'conte..."), as to_csv writes lists; CSV cannot hold lists: save the dataset with to_json or to_parquet instead"#)
    }
}
