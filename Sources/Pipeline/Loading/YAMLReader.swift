#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads one YAML file into `YAMLNode`s (keeping every mark) and offers typed, position-aware accessors
/// that record problems in a `DiagnosticSink` instead of stopping at the first one.
struct YAMLReader {
    let file: String
    let text: String
    /// Line offsets for `location(of:within:)`.
    let lines = SourceLines()

    /// Composes the document; syntax errors become one diagnostic at the libyaml mark.
    func compose() throws(PipelineError) -> YAMLNode? {
        do {
            return try YAMLComposer.compose(text)
        } catch {
            throw PipelineError(diagnostic(error))
        }
    }

    private func diagnostic(_ failure: YAMLComposer.Failure) -> Diagnostic {
        func at(_ mark: YAMLNode.Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch failure {
        case let .syntax(problem, mark, context, contextMark):
            if problem.hasPrefix("Maximum nesting level reached") {
                // libyaml's text names its C API; say what it means for the file.
                return Diagnostic(location: at(mark), fieldPath: "",
                                  message: "YAML: lists and mappings nest more than \(YAMLComposer.Limits.nesting) levels deep here; flatten the structure")
            }
            var message = "YAML syntax: \(problem)"
            if let context, let contextMark { message += " (\(context) at line \(contextMark.line), column \(contextMark.column))" }
            return Diagnostic(location: at(mark), fieldPath: "", message: message)
        case let .duplicateKey(name, repeatMark, first):
            return Diagnostic(location: at(repeatMark), fieldPath: name,
                              message: "duplicate key '\(name)' (first defined at line \(first.line))")
        case let .reader(problem, offset, value):
            // libyaml gives a byte offset into the text; say where that is, and which character.
            var line = 1, column = 1
            for scalar in Substring(text.utf8.prefix(max(0, offset))).unicodeScalars {
                if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
            }
            let hex = String(value, radix: 16, uppercase: true)
            let character = value >= 0 ? " (U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex))" : ""
            return Diagnostic(location: SourceLocation(file: file, line: line, column: column), fieldPath: "",
                              message: "cannot read YAML: \(problem)\(character); remove that character or write it as an escape in a double-quoted string")
        case let .structure(message, mark):
            return Diagnostic(location: at(mark), fieldPath: "", message: "YAML: \(message)")
        }
    }

    func location(_ node: YAMLNode) -> SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    /// The node as a raw value, keeping positions (aliases are already resolved by the composer).
    func value(_ node: YAMLNode) -> YAMLValue {
        switch node {
        case .scalar(let scalar):
            return YAMLValue(.scalar(scalar.string, plain: scalar.style == .plain), location: location(node))
        case .sequence(let sequence):
            return YAMLValue(.sequence(sequence.map { value($0) }), location: location(node))
        case .mapping(let mapping):
            return YAMLValue(.mapping(mapping.map { (key: value($0.key), value: value($0.value)) }), location: location(node))
        }
    }

    /// Mapping entries with string keys; reports a non-mapping and unknown keys (with suggestions).
    func entries(_ node: YAMLNode, path: String, what: String, allowed: [String]?,
                 sink: inout DiagnosticSink) -> [(key: String, keyNode: YAMLNode, value: YAMLNode)] {
        guard case .mapping(let mapping) = node else {
            if case .scalar(let s) = node, s.style == .plain, YAMLScalar.classify(s.string) == .null { return [] }
            sink.error(location(node), path, "\(what): expected a mapping (key: value), found \(value(node).kindDescription)")
            return []
        }
        var result: [(key: String, keyNode: YAMLNode, value: YAMLNode)] = []
        result.reserveCapacity(mapping.count)
        for (keyNode, valueNode) in mapping {  // merge keys (`<<`) were applied by the composer
            guard case .scalar(let key) = keyNode else {
                sink.error(location(keyNode), path, "\(what): keys must be plain names")
                continue
            }
            if let allowed, !allowed.contains(key.string) {
                let hint = Self.looksLikeSplitText(key: key.string, value: valueNode, inFlowMapping: mapping.isFlow)
                    ? " (\(Self.flowCommaHint))" : ""
                sink.error(location(keyNode), join(path, key.string), "\(what): unknown key '\(key.string)'\(hint)",
                           suggestion: hint.isEmpty ? Suggestion.nearest(to: key.string, in: allowed) : nil)
                continue
            }
            result.append((key.string, keyNode, valueNode))
        }
        return result
    }

    static let flowCommaHint = "a comma inside { } separates entries: quote the text"

    /// An unknown key that is probably the tail of unquoted text cut at a comma, as in
    /// `{ doc: learning rate, higher is faster }`: it has no value of its own in a flow mapping,
    /// or it contains spaces (no declared name does).
    static func looksLikeSplitText(key: String, value: YAMLNode, inFlowMapping: Bool) -> Bool {
        if key.contains(" ") { return true }
        guard inFlowMapping, case .scalar(let scalar) = value else { return false }
        return scalar.style == .plain && scalar.string.isEmpty
    }

    func join(_ path: String, _ component: String) -> String { path.isEmpty ? component : path + "." + component }

    /// A plain or quoted string scalar.
    func string(_ node: YAMLNode, path: String, what: String, sink: inout DiagnosticSink) -> String? {
        guard case .scalar(let s) = node else {
            sink.error(location(node), path, "\(what): expected a string, found \(value(node).kindDescription)")
            return nil
        }
        return s.string
    }

    /// A YAML 1.2 integer.
    func int(_ node: YAMLNode, path: String, what: String, sink: inout DiagnosticSink) -> Int64? {
        if case .scalar(let s) = node, s.style == .plain, case .int(let v) = YAMLScalar.classify(s.string) { return v }
        sink.error(location(node), path, "\(what): expected an int, found \(value(node).kindDescription)")
        return nil
    }

    func bool(_ node: YAMLNode, path: String, what: String, sink: inout DiagnosticSink) -> Bool? {
        if case .scalar(let s) = node, s.style == .plain, case .bool(let v) = YAMLScalar.classify(s.string) { return v }
        sink.error(location(node), path, "\(what): expected true or false, found \(value(node).kindDescription)")
        return nil
    }

    /// A number (int or float) as Double.
    func number(_ node: YAMLNode, path: String, what: String, sink: inout DiagnosticSink) -> Double? {
        if case .scalar(let s) = node, s.style == .plain {
            switch YAMLScalar.classify(s.string) {
            case .int(let v): return Double(v)
            case .float(let v): return v
            default: break
            }
        }
        sink.error(location(node), path, "\(what): expected a number, found \(value(node).kindDescription)")
        return nil
    }

    /// A list of strings (a single string is accepted as a one-item list).
    func strings(_ node: YAMLNode, path: String, what: String, sink: inout DiagnosticSink) -> [(String, YAMLNode)] {
        switch node {
        case .scalar(let s):
            if s.style == .plain, YAMLScalar.classify(s.string) == .null { return [] }
            return [(s.string, node)]
        case .sequence(let sequence):
            return sequence.enumerated().compactMap { index, item in
                string(item, path: "\(path)[\(index)]", what: what, sink: &sink).map { ($0, item) }
            }
        default:
            sink.error(location(node), path, "\(what): expected a list of strings, found \(value(node).kindDescription)")
            return []
        }
    }

    /// Position of `needle` in the source at or after `node`'s mark (for references inside a
    /// scalar, whatever its quoting or block style); at most 200 lines on. Each call costs the
    /// distance searched, not the file's size: a file with thousands of bad references (or one
    /// line of megabytes) is reported in linear time.
    func location(of needle: String, within node: YAMLNode) -> SourceLocation {
        let start = location(node)
        let target = Array(needle.unicodeScalars)
        let (scalars, lineStarts) = lines.index(text)
        guard !target.isEmpty, start.line >= 1, start.line <= lineStarts.count else { return start }
        var line = start.line - 1
        var position = lineStarts[line] + start.column - 1
        let lineEnd = { (line: Int) in line + 1 < lineStarts.count ? lineStarts[line + 1] - 1 : scalars.count }
        if position > lineEnd(line) { line += 1; position = line < lineStarts.count ? lineStarts[line] : scalars.count }
        let last = min(lineStarts.count - 1, start.line - 1 + 200)
        let end = last + 1 < lineStarts.count ? lineStarts[last + 1] : scalars.count
        while position + target.count <= end {
            if scalars[position] == "\n" {
                line += 1
            } else if scalars[position] == target[0], scalars[position..<(position + target.count)].elementsEqual(target) {
                return SourceLocation(file: file, line: line + 1, column: position - lineStarts[line] + 1)
            }
            position += 1
        }
        return start
    }
}

/// The source as Unicode scalars with the offset where each line starts, built on the first
/// lookup (only a file with problems needs it) and shared by copies of the reader.
final class SourceLines: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var built: (scalars: [Unicode.Scalar], lineStarts: [Int])?

    init() { pthread_mutex_init(mutex, nil) }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func index(_ text: String) -> (scalars: [Unicode.Scalar], lineStarts: [Int]) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if let built { return built }
        let scalars = Array(text.unicodeScalars)
        var lineStarts = [0]
        for (offset, scalar) in scalars.enumerated() where scalar == "\n" { lineStarts.append(offset + 1) }
        built = (scalars, lineStarts)
        return (scalars, lineStarts)
    }
}
