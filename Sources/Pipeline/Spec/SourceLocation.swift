/// A position in a YAML file: 1-based line and column (as libyaml counts them, in Unicode scalars).
public struct SourceLocation: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The file as shown to the user (relative to the current directory when inside it).
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}
