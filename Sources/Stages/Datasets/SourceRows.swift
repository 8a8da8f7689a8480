import Columnar
import JSONQuoting
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
/// Where a source row sits, as error messages name it: `data/x.jsonl:17` or, in a JSON-array file,
/// `data/x.json:17 (element 4)` (the line the element starts on; elements count from 0), or in a
/// Parquet or Arrow file `data/x.parquet row 17` (rows count from 1, as lines do).
public struct RowPlace: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var element: Int?
    /// `line` counts the rows of a columnar file.
    public var isRow = false

    public var description: String {
        isRow ? "\(file) row \(line)" : "\(file):\(line)" + (element.map { " (element \($0))" } ?? "")
    }
}

/// One row read from a source file, before mapping.
enum SourceRow {
    /// A JSON value (one JSONL line or one element of a JSON array).
    case json(JSONValue)
    /// One line of a labelled text file (`pos.txt`: label 1) or a plain text file (label nil).
    case line(String, label: Int?)
}

/// A row as read: JSON text still to parse, or a row that needs no parsing (a text line, an error).
enum RawRow {
    /// JSON text; `firstColumn` 1 for a JSONL line (errors name the column), nil for an array element.
    case json(bytes: [UInt8], firstColumn: Int?)
    case ready(Result<SourceRow, RowError>)

    /// The row parsed: a pure function of the bytes, so rows may be parsed on any thread.
    func parsed() -> Result<SourceRow, RowError> {
        switch self {
        case .ready(let result): return result
        case .json(let bytes, let firstColumn):
            do throws(JSONSyntaxError) {
                return .success(.json(try JSONParser.parse(bytes)))
            } catch {
                return .failure(SourceRowReader.malformed(error, in: bytes, firstColumn: firstColumn))
            }
        }
    }
}

/// How a source file is read.
enum SourceFileFormat: Equatable {
    case jsonLines
    case jsonArray
    /// One record per line; `label` for labelled files (pos.txt / neg.txt), nil for plain text.
    case textLines(label: Int?)
    /// Parquet, or Arrow IPC (stream or file format): one JSON object per row.
    case parquet
    case arrow
    /// CSV or TSV with a header row, typed as `datasets.Dataset.from_csv` types it.
    case csv(separator: UInt8)
}

/// Streams the rows of one source file: JSONL line by line, a JSON array element by element (a
/// splitter that respects strings and escapes finds each element's end), text files line by line.
/// Memory: one read chunk plus the current row.
final class SourceRowReader {
    let display: String
    private let format: SourceFileFormat
    private let lines: LineReader!
    private let columnar: ColumnarRows?
    private var columnarRow = 0
    // JSON-array state.
    private var arrayState = ArraySplitter()
    private var pendingElements: [(bytes: [UInt8], line: Int, index: Int)] = []
    private var arrayFinished = false

    init(path: String, display: String, format: SourceFileFormat) throws {
        self.display = display
        self.format = format
        switch format {
        case .parquet, .arrow, .csv:
            lines = nil
            do {
                switch format {
                case .parquet: columnar = try ParquetRows(path: path)
                case .csv(let separator): columnar = try CSVRows(path: path, separator: separator)
                default: columnar = try ArrowRows(path: path)
                }
            } catch let error as ColumnarError {
                throw StageError.failed("\(display): \(error.message)")
            }
        default:
            columnar = nil
            self.lines = try LineReader(path: path)
            try Self.refuseUTF16(path: path, display: display)
        }
    }

    /// A UTF-16 file (Windows tools' "Unicode") would fail on its first byte as malformed JSON or
    /// import as garbage text: named for what it is instead.
    static func refuseUTF16(path: String, display: String) throws {
        guard let file = fopen(path, "rb") else { return }
        defer { fclose(file) }
        var head = [UInt8](repeating: 0, count: 2)
        guard fread(&head, 1, 2, file) == 2, head == [0xFF, 0xFE] || head == [0xFE, 0xFF] else { return }
        throw StageError.failed("\(display): UTF-16 text (it starts with the byte-order mark "
            + head.map { String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            + "); datasets are read as UTF-8: re-encode it, e.g. iconv -f UTF-16 -t UTF-8")
    }

    /// The next row with its place, as read (JSON still to parse: `RawRow.parsed`, which may run on any
    /// thread), or nil at the end. File-level problems (an unterminated array) throw `StageError`.
    func next() throws -> (RowPlace, RawRow)? {
        switch format {
        case .parquet, .arrow, .csv:
            let row: JSONValue?
            do { row = try columnar!.next() } catch let error as ColumnarError {
                throw StageError.failed("\(display): \(error.message)")
            }
            guard let row else { return nil }
            columnarRow += 1
            return (RowPlace(file: display, line: columnarRow, isRow: true), .ready(.success(.json(row))))
        case .jsonLines:
            while true {
                // nil: end of file; .some(nil): a blank line, skipped.
                guard let raw = try lines.nextLine({ line -> RawRow? in
                    // A UTF-8 byte-order mark before the first row is allowed.
                    let hasBOM = lines.lineNumber == 1 && line.count >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF
                    let bytes = hasBOM ? UnsafeBufferPointer(rebasing: line[3...]) : line
                    if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
                    return .json(bytes: Array(bytes), firstColumn: 1)
                }) else { return nil }
                if let raw { return (RowPlace(file: display, line: lines.lineNumber), raw) }
            }
        case .textLines(let label):
            return try lines.nextLine { bytes -> (RowPlace, RawRow) in
                let place = RowPlace(file: display, line: lines.lineNumber)
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    return (place, .ready(.failure(RowError(reason: "invalid_utf8", message: "not valid UTF-8", hint: "re-encode the file as UTF-8"))))
                }
                return (place, .ready(.success(.line(text, label: label))))
            }
        case .jsonArray:
            while pendingElements.isEmpty {
                if arrayFinished { return nil }
                let more = try lines.nextLine { bytes -> Bool in
                    try arrayState.feed(bytes, lineNumber: lines.lineNumber, file: display) { pendingElements.append($0) }
                    return true
                }
                if more == nil {
                    try arrayState.finish(file: display)
                    arrayFinished = true
                }
            }
            let element = pendingElements.removeFirst()
            return (RowPlace(file: display, line: element.line, element: element.index), .json(bytes: element.bytes, firstColumn: nil))
        }
    }

    /// A syntax error as a row error, with the column (JSONL: in the line) or nothing (array elements).
    static func malformed(_ error: JSONSyntaxError, in bytes: some Collection<UInt8>, firstColumn: Int?) -> RowError {
        let column = JSONFileSyntaxError(error, in: bytes).column   // a JSONL row is one line
        let at = firstColumn != nil ? " at column \(column)" : ""
        return RowError(reason: "malformed_json", message: "malformed JSON\(at): \(error.message)", hint: "fix the row")
    }
}

/// Splits the text of a top-level JSON array into its elements' bytes, fed one line at a time.
/// Tracks string/escape state and nesting depth only; each element is then parsed on its own.
struct ArraySplitter {
    private enum Phase { case beforeArray, beforeElement, inElement, afterElement, done }
    private var phase = Phase.beforeArray
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var element: [UInt8] = []
    private var elementLine = 0
    private var index = 0

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, lineNumber: Int, file: String,
                       emit: ((bytes: [UInt8], line: Int, index: Int)) -> Void) throws {
        var i = 0
        if lineNumber == 1, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }  // UTF-8 BOM
        while i < bytes.count {
            let b = bytes[i]
            switch phase {
            case .beforeArray, .beforeElement, .afterElement, .done:
                if b == 0x20 || b == 0x09 || b == 0x0D { i += 1; continue }
                switch (phase, b) {
                case (.beforeArray, UInt8(ascii: "[")): phase = .beforeElement
                case (.beforeArray, _):
                    throw StageError.failed("\(file):\(lineNumber): expected a JSON array of rows, found \(JSONParser.describe(b)) "
                        + "(a .json file holds one array of objects; use .jsonl for one object per line)")
                case (.beforeElement, UInt8(ascii: "]")) where index == 0: phase = .done
                case (.afterElement, UInt8(ascii: ",")): phase = .beforeElement
                case (.afterElement, UInt8(ascii: "]")): phase = .done
                case (.beforeElement, _):
                    phase = .inElement
                    elementLine = lineNumber
                    continue  // the byte starts the element
                case (.done, _):
                    throw StageError.failed("\(file):\(lineNumber): unexpected text after the end of the JSON array")
                default:
                    throw StageError.failed("\(file):\(lineNumber): expected ',' or ']' after element \(index - 1), found \(JSONParser.describe(b))")
                }
                i += 1
            case .inElement:
                // Copy up to the element's end (a ',' or ']' at depth 0 outside strings).
                let start = i
                var ended = false
                while i < bytes.count {
                    let c = bytes[i]
                    if inString {
                        if escaped { escaped = false } else if c == 0x5C { escaped = true } else if c == 0x22 { inString = false }
                    } else if c == 0x22 {
                        inString = true
                    } else if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
                        depth += 1
                    } else if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") {
                        if depth == 0 { ended = true; break }
                        depth -= 1
                    } else if c == UInt8(ascii: ","), depth == 0 {
                        ended = true; break
                    }
                    i += 1
                }
                element.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
                if ended {
                    emit((element, elementLine, index))
                    element = []
                    index += 1
                    phase = .afterElement
                }
            }
        }
        if phase == .inElement { element.append(0x0A) }  // the line break inside an element
    }

    func finish(file: String) throws {
        switch phase {
        case .done: return
        case .beforeArray: throw StageError.failed("\(file): empty file (expected a JSON array of rows)")
        default: throw StageError.failed("\(file): the JSON array is not closed (missing ']' at the end of the file)")
        }
    }
}
