/// One problem in a pipeline, a stage declaration or a command-line override.
///
/// Printed like a compiler error so editors can jump to it:
/// `pipelines/x.yaml:12:7: error: stage 'ppo': unknown param 'lrr' (did you mean 'lr'?)`
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    /// nil only for problems that have no place in a file (e.g. a bad `--set`, a missing file).
    public var location: SourceLocation?
    /// Where in the document: `stages.ppo.with.lrr`, `sweep.ppo.lr[1]`, `--set ppo.lrr=1`.
    public var fieldPath: String
    public var message: String
    /// The nearest valid name, when there is one close enough.
    public var suggestion: String?

    public init(location: SourceLocation?, fieldPath: String, message: String, suggestion: String? = nil) {
        self.location = location
        self.fieldPath = fieldPath
        self.message = message
        self.suggestion = suggestion
    }

    public var description: String {
        var text = location.map { "\($0): error: " } ?? "error: "
        text += message
        if let suggestion { text += " (did you mean '\(suggestion)'?)" }
        return text
    }
}

/// Everything wrong with a pipeline load, in file order (one or more diagnostics).
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        precondition(!diagnostics.isEmpty, "a PipelineError needs at least one diagnostic")
        self.diagnostics = diagnostics
    }

    public init(_ diagnostic: Diagnostic) { self.diagnostics = [diagnostic] }

    public init(location: SourceLocation?, fieldPath: String, message: String, suggestion: String? = nil) {
        self.diagnostics = [Diagnostic(location: location, fieldPath: fieldPath, message: message, suggestion: suggestion)]
    }

    /// One line per diagnostic.
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics so one load reports every independent problem, not just the first.
struct DiagnosticSink {
    private(set) var diagnostics: [Diagnostic] = []

    var isEmpty: Bool { diagnostics.isEmpty }

    mutating func error(_ location: SourceLocation?, _ fieldPath: String, _ message: String, suggestion: String? = nil) {
        diagnostics.append(Diagnostic(location: location, fieldPath: fieldPath, message: message, suggestion: suggestion))
    }

    mutating func append(_ error: PipelineError) { diagnostics.append(contentsOf: error.diagnostics) }

    /// Throws the collected diagnostics, sorted by position, if there are any.
    func check() throws(PipelineError) {
        guard !diagnostics.isEmpty else { return }
        // Sweep variants can repeat a problem; report each once.
        var seen = Set<Diagnostic>()
        let unique = diagnostics.filter { seen.insert($0).inserted }
        throw PipelineError(unique.sorted(by: Self.precedes))
    }

    private static func precedes(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        switch (a.location, b.location) {
        case (nil, nil): return false
        case (nil, _): return false
        case (_, nil): return true
        case let (x?, y?):
            if x.file != y.file { return x.file < y.file }
            if x.line != y.line { return x.line < y.line }
            return x.column < y.column
        }
    }
}
