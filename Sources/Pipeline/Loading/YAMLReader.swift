import Yams

/// Reads one YAML file into `Node`s (keeping every mark) and offers typed, position-aware accessors
/// that record problems in a `DiagnosticSink` instead of stopping at the first one.
struct YAMLReader {
    let file: String
    let text: String

    /// Composes the document; syntax errors become one diagnostic at the libyaml mark.
    /// `Resolver.basic` skips Yams' regex tag resolution: scalars are typed by `YAMLScalar` instead.
    func compose() throws(PipelineError) -> Node? {
        do {
            return try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw PipelineError(syntaxDiagnostic(error))
        } catch {
            throw PipelineError(location: SourceLocation(file: file, line: 1, column: 1), fieldPath: "",
                                message: "cannot parse YAML: \(error)")
        }
    }

    private func syntaxDiagnostic(_ error: YamlError) -> Diagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            var message = "YAML syntax: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))" }
            return Diagnostic(location: at(mark), fieldPath: "", message: message)
        case let .duplicatedKeysInMapping(duplicates, context):
            // Yams marks the first occurrence; point at the repeat, which is what the user must fix.
            let name = duplicates.first ?? "?"
            let first = at(context.mark)
            let repeatAt = repeatedKeyLocation(name, after: first) ?? first
            return Diagnostic(location: repeatAt, fieldPath: name,
                              message: "duplicate key '\(name)' (first defined at line \(first.line))")
        case let .reader(problem, offset, _, _):
            return Diagnostic(location: SourceLocation(file: file, line: 1, column: 1), fieldPath: "",
                              message: "cannot read YAML: \(problem)\(offset.map { " at byte \($0)" } ?? "")")
        default:
            return Diagnostic(location: SourceLocation(file: file, line: 1, column: 1), fieldPath: "",
                              message: "YAML error: \(error)")
        }
    }

    /// The next line after `first` where `name:` starts at the same column (block mappings).
    private func repeatedKeyLocation(_ name: String, after first: SourceLocation) -> SourceLocation? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line < lines.count else { return nil }
        for index in first.line..<lines.count {
            let line = Array(lines[index].unicodeScalars)
            let start = first.column - 1
            guard start <= line.count else { continue }
            let rest = String(String.UnicodeScalarView(line[start...]))
            let prefix = String(String.UnicodeScalarView(line[..<start]))
            guard prefix.allSatisfy({ $0 == " " || $0 == "-" }) else { continue }
            for candidate in [name, "\"\(name)\"", "'\(name)'"] where rest.hasPrefix(candidate) {
                let after = rest.dropFirst(candidate.count).drop { $0 == " " }
                if after.hasPrefix(":") { return SourceLocation(file: file, line: index + 1, column: first.column) }
            }
        }
        return nil
    }

    func location(_ node: Node) -> SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// The node as a raw value, keeping positions (aliases are already resolved by the composer).
    func value(_ node: Node) -> YAMLValue {
        switch node {
        case .scalar(let scalar):
            return YAMLValue(.scalar(scalar.string, plain: scalar.style == .plain || scalar.style == .any),
                             location: location(node))
        case .sequence(let sequence):
            return YAMLValue(.sequence(sequence.map { value($0) }), location: location(node))
        case .mapping(let mapping):
            return YAMLValue(.mapping(mapping.map { (key: value($0.key), value: value($0.value)) }), location: location(node))
        case .alias:
            return YAMLValue(.scalar("", plain: true), location: location(node))
        }
    }

    /// Mapping entries with string keys; reports a non-mapping and unknown keys (with suggestions).
    func entries(_ node: Node, path: String, what: String, allowed: [String]?,
                 sink: inout DiagnosticSink) -> [(key: String, keyNode: Node, value: Node)] {
        guard case .mapping(let mapping) = node else {
            if case .scalar(let s) = node, s.style == .plain, YAMLScalar.classify(s.string) == .null { return [] }
            sink.error(location(node), path, "\(what): expected a mapping (key: value), found \(value(node).kindDescription)")
            return []
        }
        var result: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, valueNode) in Self.mergingKeys(mapping) {
            guard case .scalar(let key) = keyNode else {
                sink.error(location(keyNode), path, "\(what): keys must be plain names")
                continue
            }
            if let allowed, !allowed.contains(key.string) {
                sink.error(location(keyNode), join(path, key.string), "\(what): unknown key '\(key.string)'",
                           suggestion: Suggestion.nearest(to: key.string, in: allowed))
                continue
            }
            result.append((key.string, keyNode, valueNode))
        }
        return result
    }

    /// Applies YAML merge keys (`<<: *defaults`, `<<: [*a, *b]`): merged entries come first and
    /// keys written in the mapping itself win.
    static func mergingKeys(_ mapping: Node.Mapping) -> [(Node, Node)] {
        let isMerge: (Node) -> Bool = { if case .scalar(let s) = $0 { s.string == "<<" && s.style == .plain } else { false } }
        guard mapping.contains(where: { isMerge($0.key) }) else { return mapping.map { ($0.key, $0.value) } }
        var own: [(Node, Node)] = []
        var merged: [(Node, Node)] = []
        for (key, value) in mapping {
            guard isMerge(key) else { own.append((key, value)); continue }
            let sources: [Node]
            switch value {
            case .sequence(let items): sources = Array(items)
            default: sources = [value]
            }
            for case .mapping(let source) in sources {
                for (k, v) in mergingKeys(source) where !merged.contains(where: { $0.0.string == k.string }) {
                    merged.append((k, v))
                }
            }
        }
        let ownKeys = Set(own.compactMap { $0.0.string })
        return merged.filter { !ownKeys.contains($0.0.string ?? "") } + own
    }

    func join(_ path: String, _ component: String) -> String { path.isEmpty ? component : path + "." + component }

    /// A plain or quoted string scalar.
    func string(_ node: Node, path: String, what: String, sink: inout DiagnosticSink) -> String? {
        guard case .scalar(let s) = node else {
            sink.error(location(node), path, "\(what): expected a string, found \(value(node).kindDescription)")
            return nil
        }
        return s.string
    }

    /// A YAML 1.2 integer.
    func int(_ node: Node, path: String, what: String, sink: inout DiagnosticSink) -> Int64? {
        if case .scalar(let s) = node, s.style == .plain, case .int(let v) = YAMLScalar.classify(s.string) { return v }
        sink.error(location(node), path, "\(what): expected an int, found \(value(node).kindDescription)")
        return nil
    }

    func bool(_ node: Node, path: String, what: String, sink: inout DiagnosticSink) -> Bool? {
        if case .scalar(let s) = node, s.style == .plain, case .bool(let v) = YAMLScalar.classify(s.string) { return v }
        sink.error(location(node), path, "\(what): expected true or false, found \(value(node).kindDescription)")
        return nil
    }

    /// A number (int or float) as Double.
    func number(_ node: Node, path: String, what: String, sink: inout DiagnosticSink) -> Double? {
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
    func strings(_ node: Node, path: String, what: String, sink: inout DiagnosticSink) -> [(String, Node)] {
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
    /// scalar, whatever its quoting or block style).
    func location(of needle: String, within node: Node) -> SourceLocation {
        let start = location(node)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var index = start.line - 1
        while index < lines.count {
            let line = String(lines[index])
            let from = index == start.line - 1 ? start.column - 1 : 0
            let scalars = Array(line.unicodeScalars)
            if from <= scalars.count {
                let tail = String(String.UnicodeScalarView(scalars[from...]))
                if let range = tail.firstRange(of: needle) {
                    let column = from + tail.unicodeScalars.distance(from: tail.unicodeScalars.startIndex, to: range.lowerBound) + 1
                    return SourceLocation(file: file, line: index + 1, column: column)
                }
            }
            index += 1
            if index > start.line + 200 { break }
        }
        return start
    }
}
