import Columnar
import Foundation
import JSONQuoting

/// The committed fixtures (scripts/make-columnar-fixtures.py) and the rows they must read as.
enum ColumnarFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/columnar").path

    static func path(_ name: String) -> String { directory + "/" + name }

    /// The rows of `<name>.jsonl`, parsed.
    static func jsonRows(_ name: String) throws -> [JSONValue] {
        let text = try String(contentsOfFile: path(name + ".jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONParser.parse(Array($0.utf8)) }
    }

    static func open(_ path: String) throws -> ColumnarRows {
        path.hasSuffix(".parquet") ? try ParquetRows(path: path) : try ArrowRows(path: path)
    }

    static func rows(_ path: String) throws -> [JSONValue] {
        let reader = try open(path)
        var rows: [JSONValue] = []
        while let row = try reader.next() { rows.append(row) }
        return rows
    }

    /// The message a read fails with ("" when it reads).
    static func failure(_ path: String) -> String {
        do { _ = try rows(path); return "" } catch { return "\(error)" }
    }
}
