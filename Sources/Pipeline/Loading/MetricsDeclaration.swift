/// Checks a `metrics:` list (of a pipeline's `run:` stage or a `run:` declaration) against the
/// stage's outputs: each entry must be a .json/.yaml/.yml file that is an output or lies inside one.
enum MetricsDeclaration {
    /// - Parameters:
    ///   - outputs: the stage's output names (a `run:` stage's `outs:`, a declaration's `outputs:`).
    ///   - outputsField: how the outputs are declared, for the hint (`outs` or `outputs`).
    static func validate(_ entries: [(String, YAMLNode)], outputs: [String], outputsField: String, reader: YAMLReader,
                         what: String, path: String, sink: inout DiagnosticSink) -> [MetricsFile] {
        var files: [MetricsFile] = []
        for (text, node) in entries {
            let at = reader.location(node)
            let checked: (normalised: String, format: MetricsFile.Format)
            switch MetricsFile.check(text) {
            case .failure(let problem):
                sink.error(at, path, "\(what): metrics file '\(text)' \(problem.text)")
                continue
            case .success(let value): checked = value
            }
            if files.contains(where: { $0.path == checked.normalised }) {
                sink.error(at, path, "\(what): metrics file '\(text)' is listed twice")
                continue
            }
            guard let file = MetricsFile.locate(checked.normalised, outputs: outputs, format: checked.format) else {
                let hint = outputs.first.map { first in
                    "it has " + outputs.map { "'\($0)'" }.joined(separator: ", ")
                        + "; add it to \(outputsField):, or write it inside an output directory as '\(first)/\(PathName.baseName(checked.normalised))'"
                } ?? "it has no \(outputsField)"
                sink.error(at, path, "\(what): metrics file '\(text)' is not among its \(outputsField) (\(hint))",
                           suggestion: Suggestion.nearest(to: checked.normalised, in: outputs))
                continue
            }
            files.append(file)
        }
        return files
    }
}
