import JSONQuoting

/// The rows of a CSV (or TSV) file with a header row as JSON objects, typed as `datasets.Dataset.from_csv`
/// (pandas) types them, so a CSV imports as its `from_csv(...).to_json(...)` export would: RFC 4180
/// fields (quotes, doubled quotes, line breaks inside quotes, CRLF or LF); pandas' missing-value
/// spellings (an empty field, `NA`, `null`, `nan`, ...) are null; a column whose every other value is
/// an integer, a number or `True`/`False` holds numbers or booleans; else strings. Blank lines are
/// skipped. The file is read twice (once to type the columns), never held.
public final class CSVRows: ColumnarRows {
    enum ColumnType { case integer, number, boolean, string, empty }

    private let file: MappedFile
    private let header: [String]
    private let types: [ColumnType]
    private var scanner: CSVScanner
    private var rows = 0

    /// pandas' default missing-value strings (`keep_default_na`).
    static let missing: Set<String> = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                                       "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
    static let booleans: [String: Bool] = ["True": true, "TRUE": true, "true": true, "False": false, "FALSE": false, "false": false]

    public init(path: String, separator: UInt8 = UInt8(ascii: ",")) throws {
        file = try MappedFile(path: path)
        let bytes = file.bytes
        let bom = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
        var scanner = CSVScanner(bytes: bytes, separator: separator, position: bom ? 3 : 0)
        guard let names = try scanner.record() else { throw ColumnarError("the CSV file is empty (no header row)") }
        var seen = Set<String>()
        for name in names {
            guard !name.isEmpty else { throw ColumnarError("the CSV header has an empty column name") }
            guard seen.insert(name).inserted else { throw ColumnarError("the CSV header names column \"\(name)\" twice") }
        }
        header = names
        self.scanner = scanner
        // First pass: each column's type.
        var types = Array(repeating: ColumnType.empty, count: names.count)
        while let fields = try scanner.record(expected: names.count) {
            for (i, field) in fields.enumerated() where !Self.missing.contains(field) {
                types[i] = Self.widen(types[i], field)
            }
        }
        self.types = types
        file.release(0..<bytes.count)
    }

    /// A conversation as `to_csv` writes a list column: Python's repr of a list of role/content dicts.
    /// Imported, it would be one string of brackets and quotes where the messages should be.
    static func isPythonConversation(_ field: String) -> Bool {
        field.hasPrefix("[{'") && (field.contains("'role': ") || field.contains("'content': "))
    }

    /// The narrowest type holding both the column's type so far and `field`.
    static func widen(_ type: ColumnType, _ field: String) -> ColumnType {
        let isInteger = Int64(field) != nil
        let isNumber = isInteger || (Double(field).map { $0.isFinite } ?? false) && !field.contains(where: { $0.isLetter && $0 != "e" && $0 != "E" })
        let isBoolean = booleans[field] != nil
        switch type {
        case .empty: return isInteger ? .integer : isNumber ? .number : isBoolean ? .boolean : .string
        case .integer: return isInteger ? .integer : isNumber ? .number : .string
        case .number: return isNumber ? .number : .string
        case .boolean: return isBoolean ? .boolean : .string
        case .string: return .string
        }
    }

    public func next() throws -> JSONValue? {
        guard let fields = try scanner.record(expected: header.count) else { return nil }
        defer { rows += 1 }
        if rows % 4096 == 4095 { file.release(0..<scanner.position) }
        var members: [JSONMember] = []
        members.reserveCapacity(header.count)
        for (i, name) in header.enumerated() {
            let field = i < fields.count ? fields[i] : ""
            if Self.missing.contains(field) { members.append(JSONMember(name, .null)); continue }
            switch types[i] {
            case .integer: members.append(JSONMember(name, .number(Double(Int64(field)!))))
            case .number: members.append(JSONMember(name, .number(Double(field)!)))
            case .boolean: members.append(JSONMember(name, .bool(Self.booleans[field]!)))
            case .string, .empty:
                if Self.isPythonConversation(field) {
                    throw ColumnarError("row \(rows + 1), column \"\(name)\": a list of messages written as Python text (\"\(field.prefix(24))...\"), "
                        + "as to_csv writes lists; CSV cannot hold lists: save the dataset with to_json or to_parquet instead")
                }
                members.append(JSONMember(name, .string(field)))
            }
        }
        return .object(members)
    }

}

/// Splits CSV text into records of fields (RFC 4180), counting lines for messages.
struct CSVScanner {
    let bytes: UnsafeRawBufferPointer
    let separator: UInt8
    var position: Int
    var line = 1

    init(bytes: UnsafeRawBufferPointer, separator: UInt8, position: Int) {
        self.bytes = bytes
        self.separator = separator
        self.position = position
    }

    /// The next record's fields (blank lines skipped), or nil at the end. `expected`: more fields than
    /// the header has is an error (fewer are missing values, as pandas reads them).
    mutating func record(expected: Int? = nil) throws -> [String]? {
        // Blank lines.
        while position < bytes.count, bytes[position] == 0x0A || bytes[position] == 0x0D {
            if bytes[position] == 0x0A { line += 1 }
            position += 1
        }
        guard position < bytes.count else { return nil }
        let startLine = line
        var fields: [String] = []
        var field: [UInt8] = []
        func finish() throws {
            guard let s = String(validating: field, as: UTF8.self) else {
                throw ColumnarError("line \(startLine) holds text that is not valid UTF-8")
            }
            fields.append(s)
            field.removeAll(keepingCapacity: true)
        }
        var quoted = false
        while position < bytes.count {
            let b = bytes[position]
            if quoted {
                if b == 0x22 {
                    if position + 1 < bytes.count, bytes[position + 1] == 0x22 { field.append(0x22); position += 2; continue }
                    quoted = false
                } else {
                    if b == 0x0A { line += 1 }
                    field.append(b)
                }
                position += 1
                continue
            }
            if b == 0x22 && field.isEmpty { quoted = true; position += 1; continue }
            if b == separator { try finish(); position += 1; continue }
            if b == 0x0A || b == 0x0D {
                position += b == 0x0D && position + 1 < bytes.count && bytes[position + 1] == 0x0A ? 2 : 1
                line += 1
                break
            }
            field.append(b)
            position += 1
        }
        guard !quoted else { throw ColumnarError("corrupt CSV file: the quoted field that starts on line \(startLine) is not closed") }
        try finish()
        if let expected, fields.count > expected {
            throw ColumnarError("line \(startLine) has \(fields.count) fields, the header \(expected)")
        }
        return fields
    }
}
