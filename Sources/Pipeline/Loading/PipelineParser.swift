/// One pipeline file as parsed, before the stages of the files it includes are taken in.
struct PipelineFile {
    var spec: PipelineSpec
    /// The `run:` scalars of inline command stages, to locate bad `${...}` references.
    var runNodes: [String: RunNode]
    /// `include:` entries in file order.
    var includes: [IncludeEntry]
}

/// A `run:` scalar and the reader of its file (an included stage's is another file's).
struct RunNode {
    let node: YAMLNode
    let reader: YAMLReader
}

/// One path in a pipeline's `include:`, as written.
struct IncludeEntry {
    var path: String
    var location: SourceLocation
}

/// Parses a pipeline file into a `PipelineSpec` (structure and names only; declarations are
/// applied by `PipelineResolver`, included files taken in by `PipelineIncludes`).
struct PipelineParser {
    let workspace: Workspace

    static let topKeys = ["name", "doc", "seed", "include", "stages", "sweep"]
    static let stageKeys = ["uses", "run", "doc", "inputs", "with", "deps", "outs", "metrics", "resources"]

    /// Whether the node is a mapping (a stage body), not a scalar or a list.
    static func isMapping(_ node: YAMLNode) -> Bool {
        if case .mapping = node { return true }
        return false
    }

    func parse(text: String, file: String) throws(PipelineError) -> PipelineFile {
        let reader = YAMLReader(file: file, text: text)
        let start = SourceLocation(file: file, line: 1, column: 1)
        guard let root = try reader.compose() else {
            throw PipelineError(location: start, fieldPath: "", message: "pipeline is empty (expected name:, seed: and stages:)")
        }
        return try parse(root, reader: reader)
    }

    /// Parses a composed document (`PipelineIncludes` composes an included file itself, to report
    /// an empty one at its `include:` entry).
    func parse(_ root: YAMLNode, reader: YAMLReader) throws(PipelineError) -> PipelineFile {
        let file = reader.file
        var sink = DiagnosticSink()
        var name = PathName.baseName(file).split(separator: ".").first.map(String.init) ?? "pipeline"
        var seed: UInt64 = 0
        var stages: [StageSpec] = []
        var stagesNode: YAMLNode?
        var sweepNode: YAMLNode?
        var includes: [IncludeEntry] = []
        var runNodes: [String: RunNode] = [:]
        for (key, _, value) in reader.entries(root, path: "", what: "pipeline", allowed: Self.topKeys, sink: &sink) {
            switch key {
            case "name": name = reader.string(value, path: key, what: "pipeline: name", sink: &sink) ?? name
            case "doc": _ = reader.string(value, path: key, what: "pipeline: doc", sink: &sink)
            case "seed":
                if let v = reader.int(value, path: key, what: "pipeline: seed", sink: &sink) {
                    if v < 0 { sink.error(reader.location(value), key, "pipeline: seed must be ≥ 0") } else { seed = UInt64(v) }
                }
            case "include":
                for (path, node) in reader.strings(value, path: key, what: "pipeline: include", sink: &sink) {
                    if path.isEmpty {
                        sink.error(reader.location(node), key, "pipeline: include: empty path (name a pipeline file, e.g. include: sentiment.yaml)")
                    } else {
                        includes.append(IncludeEntry(path: path, location: reader.location(node)))
                    }
                }
            case "stages":
                stagesNode = value
                for (stageName, nameNode, body) in reader.entries(value, path: key, what: "pipeline: stages", allowed: nil, sink: &sink) {
                    if stageName == "include", !Self.isMapping(body) {
                        sink.error(reader.location(nameNode), "stages.include",
                                   "pipeline: 'include:' goes at the top level of the file, not under 'stages:' (it takes the stages of other pipeline files)")
                        continue
                    }
                    if let stage = parseStage(stageName, nameNode, body, reader, &sink, &runNodes) { stages.append(stage) }
                }
            case "sweep": sweepNode = value
            default: break
            }
        }
        if stages.isEmpty, includes.isEmpty, sink.isEmpty {
            let at = stagesNode.map { reader.location($0) } ?? reader.location(root)
            sink.error(at, "stages", "pipeline has no stages (add a 'stages:' mapping, e.g. stages: { data: { uses: dataset } })")
        }
        var sweep: SweepSpec?
        if let sweepNode { sweep = SweepParser.parse(sweepNode, reader: reader, sink: &sink) }
        try sink.check()
        return PipelineFile(spec: PipelineSpec(file: file, name: name, seed: seed, stages: stages, sweep: sweep),
                            runNodes: runNodes, includes: includes)
    }

    private func parseStage(_ name: String, _ nameNode: YAMLNode, _ body: YAMLNode, _ reader: YAMLReader,
                            _ sink: inout DiagnosticSink, _ runNodes: inout [String: RunNode]) -> StageSpec? {
        let what = "stage '\(name)'"
        let path = "stages.\(name)"
        let location = reader.location(nameNode)
        if !StageNames.isValid(name) {
            sink.error(location, path, "stage name '\(name)' must be letters, digits, '_' or '-' (it is used in 'stage.output' references)")
        }
        var uses: (String, SourceLocation)?, run: (String, SourceLocation)?
        var inputs: [InputReference] = []
        var pathInputs: [PathInput] = []
        var with: [(name: String, value: YAMLValue, location: SourceLocation)] = []
        var deps: [PathEntry] = [], outs: [PathEntry] = []
        var resources: Resources?
        var outsNode: YAMLNode?
        var metricsNode: YAMLNode?
        var metricsEntries: [(String, YAMLNode)] = []
        var doc: String?
        // Missing deps are reported after the loop, with the stage's `doc:` (which usually says where
        // the data comes from, e.g. "fetched by scripts/fetch-data.sh") wherever it is in the mapping.
        var missingDeps: [(location: SourceLocation, fieldPath: String, message: String)] = []
        for (key, keyNode, value) in reader.entries(body, path: path, what: what, allowed: Self.stageKeys + ["include"], sink: &sink) {
            let fieldPath = "\(path).\(key)"
            switch key {
            case "include":
                sink.error(reader.location(keyNode), fieldPath,
                           "\(what): 'include:' goes at the top level of the file, not in a stage (it takes the stages of other pipeline files)")
            case "uses":
                if let kind = reader.string(value, path: fieldPath, what: "\(what): uses", sink: &sink) { uses = (kind, reader.location(value)) }
            case "run":
                if let command = reader.string(value, path: fieldPath, what: "\(what): run", sink: &sink) {
                    run = (command, reader.location(value))
                    runNodes[name] = RunNode(node: value, reader: reader)
                }
            case "doc": doc = reader.string(value, path: fieldPath, what: what, sink: &sink)
            case "inputs":
                for (input, inputNode, ref) in reader.entries(value, path: fieldPath, what: "\(what): inputs", allowed: nil, sink: &sink) {
                    guard let text = reader.string(ref, path: "\(fieldPath).\(input)", what: "\(what): input '\(input)'", sink: &sink) else { continue }
                    if Self.isWorkspacePath(text) {
                        if let problem = WorkspacePaths.problem(text, in: workspace, kind: .input) {
                            sink.error(reader.location(ref), "\(fieldPath).\(input)", "\(what): input '\(input)': path '\(text)' \(problem)")
                        } else {
                            pathInputs.append(PathInput(name: input, path: PathName.normalise(text), location: reader.location(ref)))
                        }
                        continue
                    }
                    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
                    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts[0].contains("/") else {
                        let hint = text.contains("/") ? " (a workspace path starts with './': './\(text)')" : ""
                        sink.error(reader.location(ref), "\(fieldPath).\(input)",
                                   "\(what): input '\(input)': '\(text)' is not a 'stage.output' reference\(hint)")
                        continue
                    }
                    inputs.append(InputReference(name: input, stage: String(parts[0]), output: String(parts[1]),
                                                 location: reader.location(inputNode), valueLocation: reader.location(ref)))
                }
            case "with":
                for (param, paramNode, paramValue) in reader.entries(value, path: fieldPath, what: "\(what): with", allowed: nil, sink: &sink) {
                    // A name with spaces is usually text cut at a comma: resolution explains that.
                    guard StageNames.isValid(param) || param.contains(" ") else {
                        sink.error(reader.location(paramNode), "\(fieldPath).\(param)",
                                   "\(what): param name '\(param)' must be ASCII letters, digits, '_' or '-' (it is used in ${params.NAME})")
                        continue
                    }
                    with.append((param, reader.value(paramValue), reader.location(paramNode)))
                }
            case "deps":
                for (dep, node) in reader.strings(value, path: fieldPath, what: "\(what): deps", sink: &sink) {
                    if let problem = WorkspacePaths.problem(dep, in: workspace, kind: .dep) {
                        missingDeps.append((reader.location(node), fieldPath, "\(what): dep '\(dep)' \(problem)"))
                    } else {
                        deps.append(PathEntry(path: PathName.normalise(dep), location: reader.location(node)))
                    }
                }
            case "outs":
                outsNode = keyNode
                for (out, node) in reader.strings(value, path: fieldPath, what: "\(what): outs", sink: &sink) {
                    if let problem = WorkspacePaths.problem(out, in: workspace, kind: .out) {
                        sink.error(reader.location(node), fieldPath, "\(what): out '\(out)' \(problem)")
                    } else if outs.contains(where: { $0.path == PathName.normalise(out) }) {
                        sink.error(reader.location(node), fieldPath, "\(what): out '\(out)' is listed twice")
                    } else {
                        outs.append(PathEntry(path: PathName.normalise(out), location: reader.location(node)))
                    }
                }
            case "metrics":
                metricsNode = keyNode
                metricsEntries = reader.strings(value, path: fieldPath, what: "\(what): metrics", sink: &sink)
            case "resources":
                resources = ResourcesParser.parse(value, path: fieldPath, what: what, reader: reader, sink: &sink)
            default: break
            }
        }
        for missing in missingDeps {
            sink.error(missing.location, missing.fieldPath, missing.message + (doc.map { " — the stage's doc: \($0)" } ?? ""))
        }
        let stageBody: StageSpec.Body
        var metrics: [MetricsFile] = []
        switch (uses, run) {
        case let ((kind, at)?, nil):
            stageBody = .uses(kind: kind, location: at)
            if let outsNode {
                sink.error(reader.location(outsNode), "\(path).outs",
                           "\(what): 'outs:' is only for 'run:' stages (kind '\(kind)' declares its outputs in stages/\(kind).yaml)")
            }
            if let metricsNode {
                sink.error(reader.location(metricsNode), "\(path).metrics",
                           "\(what): 'metrics:' is only for 'run:' stages (a command kind declares its metrics files in stages/\(kind).yaml; a built-in reports its own)")
            }
        case let (nil, (command, at)?):
            stageBody = .run(command: command, location: at)
            if outs.isEmpty, outsNode == nil {
                sink.error(location, path, "\(what): a 'run:' stage needs 'outs:' (the outputs its command writes, e.g. outs: [result])")
            }
            metrics = MetricsDeclaration.validate(metricsEntries, outputs: outs.map(\.path), outputsField: "outs", reader: reader,
                                                  what: what, path: "\(path).metrics", sink: &sink)
        case (_?, _?):
            sink.error(location, path, "\(what): has both 'uses:' and 'run:' (keep one)")
            return nil
        case (nil, nil):
            sink.error(location, path, "\(what): needs 'uses: <kind>' or 'run: \"<command>\"'")
            return nil
        }
        return StageSpec(name: name, location: location, body: stageBody, inputs: inputs, pathInputs: pathInputs, with: with,
                         deps: deps, outs: outs, metrics: metrics, resources: resources)
    }

    /// An input value naming a workspace path rather than a `stage.output`: it starts with `./`,
    /// `../` or `/` (stage names cannot, so the two never collide; `../` and `/` are then rejected).
    static func isWorkspacePath(_ text: String) -> Bool {
        text == "." || text == ".." || text.hasPrefix("./") || text.hasPrefix("../") || text.hasPrefix("/")
    }
}
