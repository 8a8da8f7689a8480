/// A parsed pipeline file, ready to be resolved with different overrides.
public struct ParsedPipeline: Sendable {
    public let spec: PipelineSpec
    let workspace: Workspace
    /// The `run:` scalars of inline command stages (with their file's reader), to locate bad
    /// `${...}` references.
    let runNodes: [String: RunNode]

    /// Params left out of the stage key: `key: false`, and `key: unless_default` ones at their default.
    static func nonKeyParams(_ declaration: StageDeclaration?, _ params: [ResolvedParam]) -> [String] {
        guard let declaration else { return [] }
        return declaration.params.filter { p in
            !p.inKey || (p.keyUnlessDefault && params.first { $0.name == p.name }?.value == p.defaultValue)
        }.map(\.name)
    }

    public func resolve(overrides: [ParamOverride], declarations: inout DeclarationCache) throws(PipelineError) -> ResolvedPipeline {
        var sink = DiagnosticSink()
        let stageNames = spec.stages.map(\.name)

        // Declarations of the kinds in use, and each stage's output names (for reference checks).
        var declarationOf: [String: StageDeclaration] = [:]
        var outputsOf: [String: [String]] = [:]
        var reportedKinds = Set<String>()
        for stage in spec.stages {
            switch stage.body {
            case let .uses(kind, location):
                switch declarations.declaration(kind) {
                case .success(let declaration)?:
                    declarationOf[stage.name] = declaration
                    outputsOf[stage.name] = declaration.outputs.map(\.name)
                case .failure(let error)?:
                    if reportedKinds.insert(kind).inserted { sink.append(error) }
                case nil:
                    let known = workspace.declaredKinds()
                    sink.error(location, "stages.\(stage.name).uses",
                               "stage '\(stage.name)': unknown kind '\(kind)' (no \(workspace.displayPath("stages/\(kind).yaml")))",
                               suggestion: Suggestion.nearest(to: kind, in: known))
                }
            case .run:
                outputsOf[stage.name] = stage.outs.map(\.path)
            }
        }

        var overridesByStage: [String: [ParamOverride]] = [:]
        var seed = spec.seed
        for override in overrides {
            if override.stage.isEmpty && override.param == "seed" {
                switch ParamTyping.typed(override.value, as: .int) {
                case .success(.int(let value)) where value >= 0: seed = UInt64(value)
                default:
                    sink.error(override.location, override.origin, "\(Self.prefix(override))seed must be an integer ≥ 0, not \(override.value)")
                }
                continue
            }
            guard stageNames.contains(override.stage) else {
                sink.error(override.location, override.origin, "\(Self.prefix(override))unknown stage '\(override.stage)'",
                           suggestion: Suggestion.nearest(to: override.stage, in: stageNames))
                continue
            }
            overridesByStage[override.stage, default: []].append(override)
        }

        var resolved: [ResolvedStage] = []
        var upstreamOf: [String: [String]] = [:]
        for stage in spec.stages {
            if case .uses = stage.body, declarationOf[stage.name] == nil { continue }
            let declaration = declarationOf[stage.name]
            let params = resolveParams(stage, declaration, overridesByStage[stage.name] ?? [], &sink)
            let inputs = resolveInputs(stage, declaration, stageNames: stageNames, outputsOf: outputsOf, &sink)
            let pathInputs = resolvePathInputs(stage, declaration, &sink)
            upstreamOf[stage.name] = inputs.map(\.stage)
            let implementation: Implementation, version: Int
            if let declaration {
                (implementation, version) = (declaration.implementation, declaration.version)
            } else if case .run(let command, _) = stage.body {
                (implementation, version) = (.command(command), 1)
                if let run = runNodes[stage.name] {
                    validateCommand(CommandTemplate(command), node: run.node, reader: run.reader, params: stage.with.map(\.name),
                                    inputs: stage.inputs.map(\.name) + stage.pathInputs.map(\.name), outs: stage.outs.map(\.path),
                                    context: "stage '\(stage.name)'", path: "stages.\(stage.name).run", sink: &sink)
                }
            } else {
                continue
            }
            var deps = declaration?.deps ?? []
            for dep in stage.deps.map(\.path) where !deps.contains(dep) { deps.append(dep) }
            let kind: String
            if case .uses(let k, _) = stage.body { kind = k } else { kind = "run" }
            resolved.append(ResolvedStage(
                name: stage.name, kind: kind, implementation: implementation, implementationVersion: version,
                params: params, nonKeyParams: Self.nonKeyParams(declaration, params),
                inputs: inputs, pathInputs: pathInputs, outputs: outputsOf[stage.name] ?? [],
                metricsFiles: (declaration?.metrics ?? []) + stage.metrics, deps: deps,
                resources: (stage.resources ?? Resources()).overriding(declaration?.resources ?? Resources()),
                location: stage.location, declarationFile: declaration?.file))
        }
        if let sweep = spec.sweep { validateSweep(sweep, declarations: declarationOf, stageNames: stageNames, &sink) }
        try sink.check()

        let graph: StageGraph
        do {
            graph = try StageGraph(names: stageNames, upstreamOf: upstreamOf)
        } catch {
            guard case .cycle(let cycle) = error else { fatalError("unreachable") }
            let consumer = spec.stages.first { $0.name == cycle[1] }!
            let edge = consumer.inputs.first { $0.stage == cycle[0] }!
            throw PipelineError(location: edge.valueLocation, fieldPath: "stages.\(consumer.name).inputs.\(edge.name)",
                                message: "cycle between stages: \(cycle.joined(separator: " → "))")
        }
        for i in resolved.indices { resolved[i].seed = seed }
        let byName = Dictionary(uniqueKeysWithValues: resolved.map { ($0.name, $0) })
        return ResolvedPipeline(name: spec.name, file: spec.file, workspace: workspace, seed: seed,
                                stages: graph.topologicalOrder.map { byName[$0]! }, graph: graph,
                                overrides: overrides, sweep: spec.sweep, sources: spec.sources)
    }

    static func prefix(_ override: ParamOverride) -> String {
        override.location == nil ? "\(override.origin): " : "sweep: "
    }

    private func resolveParams(_ stage: StageSpec, _ declaration: StageDeclaration?, _ overrides: [ParamOverride],
                               _ sink: inout DiagnosticSink) -> [ResolvedParam] {
        let what = "stage '\(stage.name)'"
        var values: [String: ParamValue] = [:]
        let declaredNames = declaration?.params.map(\.name) ?? stage.with.map(\.name)
        for entry in stage.with {
            let path = "stages.\(stage.name).with.\(entry.name)"
            if let declaration {
                guard let param = declaration.param(entry.name) else {
                    let known = declaredNames.isEmpty ? "kind '\(declaration.kind)' has no params"
                                                      : "see \(declaration.file)"
                    // Parsed values no longer know their mapping's style: spaces are the tell here.
                    if entry.name.contains(" ") {
                        sink.error(entry.location, path, "\(what): unknown param '\(entry.name)' (\(YAMLReader.flowCommaHint))")
                        continue
                    }
                    sink.error(entry.location, path, "\(what): unknown param '\(entry.name)' (\(known))",
                               suggestion: Suggestion.nearest(to: entry.name, in: declaredNames))
                    continue
                }
                if let value = typed(entry.value, param: param, what: "\(what): param '\(entry.name)'",
                                     at: entry.value.location, path: path, &sink) {
                    values[entry.name] = value
                }
            } else {
                switch ParamTyping.untyped(entry.value) {
                case .success(let value): values[entry.name] = value
                case .failure(let m): sink.error(entry.value.location, path, "\(what): param '\(entry.name)': \(m.message)")
                }
            }
        }
        for override in overrides {
            if let value = typedOverride(override, stage, declaration, current: values[override.param], &sink) {
                values[override.param] = value
            }
        }
        for param in declaration?.params ?? [] where values[param.name] == nil {
            values[param.name] = param.defaultValue
        }
        return values.map { ResolvedParam(name: $0.key, value: $0.value) }.sorted { $0.name.utf8Precedes($1.name) }
    }

    /// An override's value typed for its stage: by the declared type, or for an inline `run:`
    /// stage by the type of the `with:` value it replaces.
    func typedOverride(_ override: ParamOverride, _ stage: StageSpec, _ declaration: StageDeclaration?,
                               current: ParamValue?, _ sink: inout DiagnosticSink) -> ParamValue? {
        let prefix = Self.prefix(override) + "stage '\(stage.name)': "
        let path = override.origin
        if let declaration {
            guard let param = declaration.param(override.param) else {
                sink.error(override.location, path, "\(prefix)unknown param '\(override.param)'",
                           suggestion: Suggestion.nearest(to: override.param, in: declaration.params.map(\.name)))
                return nil
            }
            return typed(override.value, param: param, what: "\(prefix)param '\(override.param)'",
                         at: override.value.location ?? override.location, path: path, &sink)
        }
        guard let current else {
            sink.error(override.location, path,
                       "\(prefix)unknown param '\(override.param)' (a 'run:' stage has only the params in its 'with:')",
                       suggestion: Suggestion.nearest(to: override.param, in: stage.with.map(\.name)))
            return nil
        }
        switch ParamTyping.typed(override.value, as: current.type) {
        case .success(let value): return value
        case .failure(let m):
            sink.error(override.value.location ?? override.location, path, "\(prefix)param '\(override.param)': \(m.message)")
            return nil
        }
    }

    /// Checks every value of the `sweep:` block against its stage, so a bad sweep is reported on
    /// any load (`pipe status`, `pipe dag`), not only when the sweep runs.
    private func validateSweep(_ sweep: SweepSpec, declarations declarationOf: [String: StageDeclaration],
                               stageNames: [String], _ sink: inout DiagnosticSink) {
        var overrides: [ParamOverride] = sweep.variants.flatMap { $0 }
        for axis in sweep.axes {
            for value in axis.values {
                overrides.append(ParamOverride(stage: axis.stage, param: axis.param, value: value, origin: "sweep", location: axis.location))
            }
        }
        var reportedTargets = Set<String>()
        for override in overrides {
            if override.stage.isEmpty && override.param == "seed" {
                if case .success(.int(let value)) = ParamTyping.typed(override.value, as: .int), value >= 0 { continue }
                sink.error(override.location, "sweep.seed", "sweep: seed must be an integer ≥ 0, not \(override.value)")
                continue
            }
            guard let stage = spec.stages.first(where: { $0.name == override.stage }) else {
                if reportedTargets.insert(override.stage).inserted {
                    sink.error(override.location, "sweep", "sweep: unknown stage '\(override.stage)'",
                               suggestion: Suggestion.nearest(to: override.stage, in: stageNames))
                }
                continue
            }
            if case .uses = stage.body, declarationOf[stage.name] == nil { continue }
            let current = stage.with.first { $0.name == override.param }.flatMap { try? ParamTyping.untyped($0.value).get() }
            // One report per unknown param, not one per value.
            let target = "\(override.stage).\(override.param)"
            var scratch = DiagnosticSink()
            _ = typedOverride(override, stage, declarationOf[stage.name], current: current, &scratch)
            if !scratch.isEmpty, scratch.diagnostics[0].message.contains("unknown param") {
                if reportedTargets.insert(target).inserted { sink.append(PipelineError(scratch.diagnostics)) }
            } else if !scratch.isEmpty {
                sink.append(PipelineError(scratch.diagnostics))
            }
        }
    }

    private func typed(_ raw: YAMLValue, param: ParamDeclaration, what: String, at location: SourceLocation?,
                       path: String, _ sink: inout DiagnosticSink) -> ParamValue? {
        switch ParamTyping.typed(raw, as: param.type) {
        case .failure(let m):
            // A bounded number: say what would be accepted (`n_layer: 1e9` is a float, not a big int).
            let allowed = param.type != .int ? "" : ParamTyping.allowedRange(param).map { " (allowed: \($0))" } ?? ""
            sink.error(location, path, "\(what): \(m.message)\(allowed)")
            return nil
        case .success(let value):
            if let problem = ParamTyping.checkLimits(value, param) {
                sink.error(location, path, "\(what): \(problem.message)")
                return nil
            }
            return value
        }
    }

    private func resolveInputs(_ stage: StageSpec, _ declaration: StageDeclaration?, stageNames: [String],
                               outputsOf: [String: [String]], _ sink: inout DiagnosticSink) -> [InputBinding] {
        let what = "stage '\(stage.name)'"
        var bindings: [InputBinding] = []
        for input in stage.inputs {
            let path = "stages.\(stage.name).inputs.\(input.name)"
            if let declaration, declaration.input(input.name) == nil {
                let names = declaration.inputs.map(\.name)
                let known = names.isEmpty ? "kind '\(declaration.kind)' takes no inputs" : "it takes " + names.map { "'\($0)'" }.joined(separator: ", ")
                sink.error(input.location, path, "\(what): unknown input '\(input.name)' (\(known))",
                           suggestion: Suggestion.nearest(to: input.name, in: names))
                continue
            }
            guard stageNames.contains(input.stage) else {
                sink.error(input.valueLocation, path, "\(what): input '\(input.name)' refers to unknown stage '\(input.stage)'",
                           suggestion: Suggestion.nearest(to: input.stage, in: stageNames))
                continue
            }
            if let outputs = outputsOf[input.stage], !outputs.contains(input.output) {
                let known = outputs.isEmpty ? "it has none" : "it has " + outputs.map { "'\($0)'" }.joined(separator: ", ")
                sink.error(input.valueLocation, path,
                           "\(what): input '\(input.name)': stage '\(input.stage)' has no output '\(input.output)' (\(known))",
                           suggestion: Suggestion.nearest(to: input.output, in: outputs).map { "\(input.stage).\($0)" })
                continue
            }
            bindings.append(InputBinding(name: input.name, stage: input.stage, output: input.output, location: input.valueLocation))
        }
        for declared in declaration?.inputs ?? [] where !declared.optional && !stage.inputs.contains(where: { $0.name == declared.name })
            && !stage.pathInputs.contains(where: { $0.name == declared.name }) {
            sink.error(stage.location, "stages.\(stage.name).inputs",
                       "\(what): missing required input '\(declared.name)' (wire it as inputs: { \(declared.name): <stage>.<output> })")
        }
        return bindings.sorted { $0.name.utf8Precedes($1.name) }
    }

    /// Workspace-path inputs checked against the declaration (the parser already checked the paths).
    private func resolvePathInputs(_ stage: StageSpec, _ declaration: StageDeclaration?, _ sink: inout DiagnosticSink) -> [PathInput] {
        var result: [PathInput] = []
        for input in stage.pathInputs {
            if let declaration, declaration.input(input.name) == nil {
                let names = declaration.inputs.map(\.name)
                let known = names.isEmpty ? "kind '\(declaration.kind)' takes no inputs" : "it takes " + names.map { "'\($0)'" }.joined(separator: ", ")
                sink.error(input.location, "stages.\(stage.name).inputs.\(input.name)",
                           "stage '\(stage.name)': unknown input '\(input.name)' (\(known))",
                           suggestion: Suggestion.nearest(to: input.name, in: names))
                continue
            }
            result.append(input)
        }
        return result.sorted { $0.name.utf8Precedes($1.name) }
    }
}
