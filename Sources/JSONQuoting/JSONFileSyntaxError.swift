/// A syntax error in a JSON file, placed by line and column for the message a user reads.
public struct JSONFileSyntaxError: Error, Equatable, CustomStringConvertible {
    /// 1-based line (lines end at `\n`).
    public var line: Int
    /// 1-based column, counted in Unicode scalars (what an editor shows for UTF-8 text).
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `line 3, column 17: expected ',' or '}' in an object, found '"'`.
    public var description: String { "line \(line), column \(column): \(message)" }

    /// The error at byte `error.offset` of `bytes`, placed by line and column.
    public init(_ error: JSONSyntaxError, in bytes: some Collection<UInt8>) {
        var line = 1, column = 1
        for byte in bytes.prefix(error.offset) {
            if byte == 0x0A { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        self.init(line: line, column: column, message: error.message)
    }
}

extension JSONParser {
    /// Parses a whole JSON file (a leading UTF-8 byte-order mark skipped, as Foundation and Python's
    /// `utf-8-sig` do); a syntax error comes back placed by line and column. Duplicate keys are an
    /// error here as everywhere pipe reads JSON: Python's `json` writers never produce them, so one
    /// means a damaged or hand-edited file whose intent is unclear. `allowingNonFinite` as in `parse`.
    public static func parseFile(_ bytes: [UInt8], allowingNonFinite: Bool = false) throws(JSONFileSyntaxError) -> JSONValue {
        let start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let result: Result<JSONValue, JSONFileSyntaxError> = bytes.withUnsafeBufferPointer { all in
            let text = UnsafeBufferPointer(rebasing: all[start...])
            do throws(JSONSyntaxError) {
                return .success(try parse(text, allowingNonFinite: allowingNonFinite))
            } catch {
                return .failure(JSONFileSyntaxError(error, in: text))
            }
        }
        return try result.get()
    }
}
