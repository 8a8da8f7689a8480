/// `pipe dag` renderings: pure functions of a resolved pipeline.
public enum DAGRendering {
    /// An indented tree in topological order. A stage with several producers hangs under the last
    /// of them (so it appears after everything it needs); its label lists every input it reads.
    ///
    ///     data (dataset)
    ///     └── tokens (tokenise)  ← corpus: data.train
    ///         └── sft (sft)  ← tokens: tokens.tokens, tokenizer: tokens.tokenizer
    public static func text(_ pipeline: ResolvedPipeline) -> String {
        let stages = pipeline.stages
        let position = Dictionary(uniqueKeysWithValues: stages.enumerated().map { ($1.name, $0) })
        // Each stage hangs under its latest producer in topological order (so it is drawn only
        // after everything it needs); roots are stages without inputs.
        var children: [String: [String]] = [:]
        var roots: [String] = []
        for stage in stages {
            if let parent = stage.upstreamStages.max(by: { position[$0]! < position[$1]! }) {
                children[parent, default: []].append(stage.name)
            } else {
                roots.append(stage.name)
            }
        }
        var lines: [String] = []
        func label(_ name: String) -> String {
            let stage = stages[position[name]!]
            var text = "\(stage.name) (\(stage.kind))"
            let inputs = stage.inputs.map { ($0.name, $0.reference) } + stage.pathInputs.map { ($0.name, $0.reference) }
            if !inputs.isEmpty {
                text += "  ← " + inputs.sorted { $0.0.utf8Precedes($1.0) }.map { "\($0.0): \($0.1)" }.joined(separator: ", ")
            }
            return text
        }
        func walk(_ name: String, prefix: String, isLast: Bool, isRoot: Bool) {
            lines.append(isRoot ? label(name) : prefix + (isLast ? "└── " : "├── ") + label(name))
            let kids = children[name] ?? []
            let childPrefix = isRoot ? "" : prefix + (isLast ? "    " : "│   ")
            for (i, kid) in kids.enumerated() { walk(kid, prefix: childPrefix, isLast: i == kids.count - 1, isRoot: false) }
        }
        for root in roots { walk(root, prefix: "", isLast: true, isRoot: true) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A Mermaid flowchart (paste into Markdown): one node per stage, edges labelled `output→input`.
    public static func mermaid(_ pipeline: ResolvedPipeline) -> String {
        var lines = ["flowchart TD"]
        let ids = nodeIDs(pipeline)
        for stage in pipeline.stages {
            lines.append("    \(ids[stage.name]!)[\"\(escapeMermaid(stage.name))<br/><small>\(escapeMermaid(stage.kind))</small>\"]")
        }
        for stage in pipeline.stages {
            for input in stage.inputs {
                lines.append("    \(ids[input.stage]!) -->|\"\(escapeMermaid(edgeLabel(input)))\"| \(ids[stage.name]!)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Graphviz dot (`pipe dag --format dot | dot -Tsvg > dag.svg`).
    public static func dot(_ pipeline: ResolvedPipeline) -> String {
        var lines = ["digraph \(quoteDot(pipeline.name)) {", "    rankdir=TB;", "    node [shape=box, style=rounded];"]
        for stage in pipeline.stages {
            lines.append("    \(quoteDot(stage.name)) [label=\(quoteDot("\(stage.name)\n\(stage.kind)"))];")
        }
        for stage in pipeline.stages {
            for input in stage.inputs {
                lines.append("    \(quoteDot(input.stage)) -> \(quoteDot(stage.name)) [label=\(quoteDot(edgeLabel(input)))];")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func edgeLabel(_ input: InputBinding) -> String {
        input.output == input.name ? input.name : "\(input.output)→\(input.name)"
    }

    /// Mermaid ids must be simple: `s0`, `s1`, … in topological order.
    private static func nodeIDs(_ pipeline: ResolvedPipeline) -> [String: String] {
        Dictionary(uniqueKeysWithValues: pipeline.stages.enumerated().map { ($1.name, "s\($0)") })
    }

    private static func escapeMermaid(_ text: String) -> String {
        text.replacingOccurrences(of: "\"", with: "#quot;")
    }

    private static func quoteDot(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
