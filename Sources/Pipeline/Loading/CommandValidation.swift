/// Checks every `${ns.name}` reference in a command against what the stage has.
func validateCommand(_ template: CommandTemplate, node: YAMLNode, reader: YAMLReader, params: [String], inputs: [String],
                     outs: [String], context: String, path: String, sink: inout DiagnosticSink) {
    for reference in template.references {
        // Positions are computed only for bad references: locating one scans the source text.
        var at: SourceLocation { reader.location(of: reference.text, within: node) }
        guard let namespace = CommandTemplate.Namespace(rawValue: reference.namespace) else {
            sink.error(at, path, "\(context): unknown reference '\(reference.text)' (use ${params.NAME}, ${inputs.NAME} or ${outs.NAME})",
                       suggestion: Suggestion.nearest(to: reference.namespace, in: CommandTemplate.Namespace.allCases.map(\.rawValue))
                           .map { "${\($0).\(reference.name)}" })
            continue
        }
        let names: [String], noun: String
        switch namespace {
        case .params: (names, noun) = (params, "param")
        case .inputs: (names, noun) = (inputs, "input")
        case .outs: (names, noun) = (outs, "output")
        }
        if !names.contains(reference.name) {
            let known = names.isEmpty ? "it has none" : "it has " + names.map { "'\($0)'" }.joined(separator: ", ")
            sink.error(at, path, "\(context): '\(reference.text)' refers to an unknown \(noun) '\(reference.name)' (\(known))",
                       suggestion: Suggestion.nearest(to: reference.name, in: names).map { "${\(namespace.rawValue).\($0)}" })
        }
    }
}
