/// What is wrong with a Parquet or Arrow file, as a sentence that follows the file's name
/// ("corrupt Parquet file: ...", "... is not read; re-save it with ..."). Never a trap: every size
/// and offset read from a file is checked before it is used.
public struct ColumnarError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
