/// Parses and validates `stages/<kind>.yaml` (format: stages/README.md).
struct DeclarationParser {
    let workspace: Workspace

    static let topKeys = ["kind", "version", "doc", "builtin", "run", "deps", "include", "inputs", "outputs", "metrics", "params", "resources"]
    static let groupKeys = ["doc", "params"]
    /// Fields a declaration may change on a param it takes from an `include:` group.
    static let overrideKeys = ["default", "doc", "min", "max", "choices", "key", "finite"]
    static let inputKeys = ["doc", "optional"]
    static let outputKeys = ["doc"]
    static let paramKeys = ["type", "default", "doc", "min", "max", "choices", "finite", "key"]

    func load(kind: String) throws(PipelineError) -> StageDeclaration {
        guard let (read, file) = workspace.declarationFile(kind + ".yaml") else {
            throw PipelineError(location: nil, fieldPath: "", message: "no stage declaration '\(workspace.displayPath("stages/\(kind).yaml"))'")
        }
        guard let bytes = read else {
            throw PipelineError(location: nil, fieldPath: "", message: "cannot read stage declaration '\(file)'")
        }
        let text = try SourceText.decode(bytes, file: file)
        return try parse(text: text, file: file, expectedKind: kind)
    }

    func parse(text: String, file: String, expectedKind: String) throws(PipelineError) -> StageDeclaration {
        let reader = YAMLReader(file: file, text: text)
        guard let root = try reader.compose() else {
            throw PipelineError(location: SourceLocation(file: file, line: 1, column: 1), fieldPath: "",
                                message: "stage declaration is empty (expected kind:, version:, builtin: or run:, params:)")
        }
        var sink = DiagnosticSink()
        let what = "stage declaration"
        var kind: String?, version: Int64?, doc: String?, builtin: String?
        var command: (String, YAMLNode)?
        var deps: [String] = []
        var inputs: [InputDeclaration] = [], outputs: [OutputDeclaration] = [], params: [ParamDeclaration] = []
        var resources = Resources()
        var kindNode: YAMLNode?
        var metricsKey: YAMLNode?
        var metricsEntries: [(String, YAMLNode)] = []
        var ownParams: [(name: String, nameNode: YAMLNode, body: YAMLNode)] = []
        var included: [ParamDeclaration] = []
        for (key, keyNode, value) in reader.entries(root, path: "", what: what, allowed: Self.topKeys, sink: &sink) {
            switch key {
            case "kind":
                kind = reader.string(value, path: key, what: what, sink: &sink)
                kindNode = value
            case "version":
                version = reader.int(value, path: key, what: "\(what): version", sink: &sink)
                if let v = version, v < 0 { sink.error(reader.location(value), key, "\(what): version must be ≥ 0") }
            case "doc": doc = reader.string(value, path: key, what: what, sink: &sink)
            case "builtin": builtin = reader.string(value, path: key, what: "\(what): builtin", sink: &sink)
            case "run":
                if let text = reader.string(value, path: key, what: "\(what): run", sink: &sink) { command = (text, value) }
            case "deps":
                for (dep, node) in reader.strings(value, path: key, what: "\(what): deps", sink: &sink) {
                    if let problem = WorkspacePaths.problem(dep, in: workspace, kind: .dep) {
                        sink.error(reader.location(node), key, "\(what): dep '\(dep)' \(problem)")
                    } else {
                        deps.append(PathName.normalise(dep))
                    }
                }
            case "inputs":
                for (name, nameNode, body) in reader.entries(value, path: key, what: "\(what): inputs", allowed: nil, sink: &sink) {
                    var input = InputDeclaration(name: name, doc: nil, optional: false, location: reader.location(nameNode))
                    if case .scalar(let s) = body, s.style != .plain || YAMLScalar.classify(s.string) != .null {
                        input.doc = s.string
                    } else {
                        for (field, _, fieldValue) in reader.entries(body, path: "inputs.\(name)", what: "\(what): input '\(name)'",
                                                                     allowed: Self.inputKeys, sink: &sink) {
                            if field == "doc" { input.doc = reader.string(fieldValue, path: "inputs.\(name).doc", what: what, sink: &sink) }
                            if field == "optional" { input.optional = reader.bool(fieldValue, path: "inputs.\(name).optional", what: "\(what): input '\(name)': optional", sink: &sink) ?? false }
                        }
                    }
                    checkName(name, reader.location(nameNode), "inputs", what: "\(what): input", sink: &sink)
                    inputs.append(input)
                }
            case "outputs":
                for (name, nameNode, body) in reader.entries(value, path: key, what: "\(what): outputs", allowed: nil, sink: &sink) {
                    var output = OutputDeclaration(name: name, doc: nil, location: reader.location(nameNode))
                    if case .scalar(let s) = body, s.style != .plain || YAMLScalar.classify(s.string) != .null {
                        output.doc = s.string
                    } else {
                        for (field, _, fieldValue) in reader.entries(body, path: "outputs.\(name)", what: "\(what): output '\(name)'",
                                                                     allowed: Self.outputKeys, sink: &sink) where field == "doc" {
                            output.doc = reader.string(fieldValue, path: "outputs.\(name).doc", what: what, sink: &sink)
                        }
                    }
                    checkName(name, reader.location(nameNode), "outputs", what: "\(what): output", sink: &sink)
                    outputs.append(output)
                }
            case "params":
                for (name, nameNode, body) in reader.entries(value, path: key, what: "\(what): params", allowed: nil, sink: &sink) {
                    checkName(name, reader.location(nameNode), "params", what: "\(what): param", sink: &sink)
                    ownParams.append((name, nameNode, body))
                }
            case "include":
                for (group, node) in reader.strings(value, path: key, what: "\(what): include", sink: &sink) {
                    for param in loadGroup(group, node: node, reader: reader, sink: &sink) {
                        if included.contains(where: { $0.name == param.name }) {
                            sink.error(reader.location(node), key, "\(what): param '\(param.name)' comes from two include groups (keep one)")
                        } else {
                            included.append(param)
                        }
                    }
                }
            case "metrics":
                metricsKey = keyNode
                metricsEntries = reader.strings(value, path: key, what: "\(what): metrics", sink: &sink)
            case "resources":
                resources = ResourcesParser.parse(value, path: key, what: what, reader: reader, sink: &sink)
            default:
                _ = keyNode
            }
        }
        for (name, nameNode, body) in ownParams {
            if let base = included.firstIndex(where: { $0.name == name }) {
                if let param = parseOverride(of: included[base], nameNode, body, reader, &sink) { included[base] = param }
            } else if let param = parseParam(name, nameNode, body, reader, &sink) {
                params.append(param)
            }
        }
        params += included
        let top = reader.location(root)
        if kind == nil, sink.isEmpty { sink.error(top, "kind", "\(what): missing 'kind: \(expectedKind)'") }
        if let kind, kind != expectedKind, let kindNode {
            sink.error(reader.location(kindNode), "kind",
                       "\(what): kind '\(kind)' does not match the file name (rename the file to stages/\(kind).yaml or set kind: \(expectedKind))")
        }
        if version == nil, sink.isEmpty { sink.error(top, "version", "\(what): missing 'version:' (the implementation version, e.g. version: 1)") }
        let implementation: Implementation
        var metrics: [MetricsFile] = []
        switch (builtin, command) {
        case (let name?, nil):
            implementation = .builtin(name)
            if let metricsKey {
                sink.error(reader.location(metricsKey), "metrics",
                           "\(what): 'metrics:' is only for 'run:' declarations (built-in '\(name)' reports its own metrics)")
            }
        case (nil, let (text, node)?):
            implementation = .command(text)
            metrics = MetricsDeclaration.validate(metricsEntries, outputs: outputs.map(\.name), outputsField: "outputs",
                                                  reader: reader, what: what, path: "metrics", sink: &sink)
            validateCommand(CommandTemplate(text), node: node, reader: reader, params: params.map(\.name),
                            inputs: inputs.map(\.name), outs: outputs.map(\.name),
                            context: what, path: "run", sink: &sink)
        case (_?, _?):
            sink.error(top, "", "\(what): has both 'builtin:' and 'run:' (keep one)")
            implementation = .builtin("")
        case (nil, nil):
            if sink.isEmpty { sink.error(top, "", "\(what): needs 'builtin: <name>' or 'run: \"<command>\"'") }
            implementation = .builtin("")
        }
        try sink.check()
        return StageDeclaration(kind: expectedKind, version: Int(version ?? 0), doc: doc, implementation: implementation,
                                deps: deps, inputs: inputs, outputs: outputs, metrics: metrics, params: params,
                                resources: resources, file: file)
    }

    /// The params of `stages/shared/<group>.yaml` (a group of params several kinds share, declared once).
    private func loadGroup(_ group: String, node: YAMLNode, reader: YAMLReader, sink: inout DiagnosticSink) -> [ParamDeclaration] {
        let relative = "stages/shared/\(group).yaml"
        guard StageNames.isValid(group), let (bytes, file) = workspace.declarationFile("shared/\(group).yaml"),
              let bytes, let text = String(validating: bytes, as: UTF8.self) else {
            sink.error(reader.location(node), "include", "stage declaration: include '\(group)': cannot read \(workspace.displayPath(relative))",
                       suggestion: Suggestion.nearest(to: group, in: workspace.sharedGroups()))
            return []
        }
        let groupReader = YAMLReader(file: file, text: text)
        let what = "param group"
        var params: [ParamDeclaration] = []
        do {
            guard let root = try groupReader.compose() else { return [] }
            for (key, _, value) in groupReader.entries(root, path: "", what: what, allowed: Self.groupKeys, sink: &sink) where key == "params" {
                for (name, nameNode, body) in groupReader.entries(value, path: key, what: "\(what): params", allowed: nil, sink: &sink) {
                    checkName(name, groupReader.location(nameNode), "params", what: "\(what): param", sink: &sink)
                    if let param = parseParam(name, nameNode, body, groupReader, &sink) { params.append(param) }
                }
            }
        } catch {
            sink.append(error)
        }
        return params
    }

    /// A declaration's change to an included param: a new default, doc or limits; the type stays the group's.
    private func parseOverride(of base: ParamDeclaration, _ nameNode: YAMLNode, _ body: YAMLNode, _ reader: YAMLReader,
                               _ sink: inout DiagnosticSink) -> ParamDeclaration? {
        let name = base.name
        let what = "stage declaration: param '\(name)'"
        let path = "params.\(name)"
        var param = base
        param.location = reader.location(nameNode)
        let fields = reader.entries(body, path: path, what: what, allowed: Self.paramKeys, sink: &sink)
        if let typeField = fields.first(where: { $0.key == "type" }) {
            sink.error(reader.location(typeField.keyNode), "\(path).type",
                       "\(what): declared by an include group as \(base.type.rawValue); drop 'type:' and give only what changes (\(Self.overrideKeys.joined(separator: ", ")))")
            return nil
        }
        var defaultNode: YAMLNode?
        for (field, _, value) in fields {
            switch field {
            case "default": defaultNode = value
            case "doc": param.doc = reader.string(value, path: "\(path).doc", what: what, sink: &sink)
            case "min": param.min = reader.number(value, path: "\(path).min", what: "\(what): min", sink: &sink)
            case "max": param.max = reader.number(value, path: "\(path).max", what: "\(what): max", sink: &sink)
            case "choices":
                guard case .sequence(let items) = value else {
                    sink.error(reader.location(value), "\(path).choices", "\(what): choices must be a list")
                    return nil
                }
                param.choices = items.compactMap { item in
                    switch ParamTyping.typed(reader.value(item), as: base.type) {
                    case .success(let v): return v
                    case .failure(let m): sink.error(reader.location(item), "\(path).choices", "\(what): choice: \(m.message)"); return nil
                    }
                }
            case "key":
                if let rule = keyRule(value, path: "\(path).key", what: "\(what): key", reader: reader, sink: &sink) {
                    (param.inKey, param.keyUnlessDefault) = rule
                }
            case "finite": param.finite = reader.bool(value, path: "\(path).finite", what: "\(what): finite", sink: &sink) ?? base.finite
            default: break
            }
        }
        if let defaultNode {
            switch ParamTyping.typed(reader.value(defaultNode), as: base.type) {
            case .success(let value): param.defaultValue = value
            case .failure(let m):
                sink.error(reader.location(defaultNode), "\(path).default", "\(what): default: \(m.message)")
                return nil
            }
        }
        if let problem = ParamTyping.checkLimits(param.defaultValue, param) {
            sink.error(reader.location(defaultNode ?? nameNode), "\(path).default", "\(what): default \(problem.message)")
        }
        return param
    }

    private func checkName(_ name: String, _ location: SourceLocation, _ path: String, what: String, sink: inout DiagnosticSink) {
        if !StageNames.isValid(name) {
            sink.error(location, "\(path).\(name)", "\(what) name '\(name)' must be ASCII letters, digits, '_' or '-'")
        }
    }

    /// `key:` true (the default), false (never in the key) or unless_default (in the key only when
    /// set to something other than the default).
    private func keyRule(_ node: YAMLNode, path: String, what: String, reader: YAMLReader,
                         sink: inout DiagnosticSink) -> (inKey: Bool, unlessDefault: Bool)? {
        if case .scalar(let s) = node, s.style == .plain {
            if s.string == "unless_default" { return (true, true) }
            if case .bool(let v) = YAMLScalar.classify(s.string) { return (v, false) }
        }
        sink.error(reader.location(node), path, "\(what): expected true, false or unless_default, found \(reader.value(node).kindDescription)")
        return nil
    }

    private func parseParam(_ name: String, _ nameNode: YAMLNode, _ body: YAMLNode, _ reader: YAMLReader,
                            _ sink: inout DiagnosticSink) -> ParamDeclaration? {
        let what = "stage declaration: param '\(name)'"
        let path = "params.\(name)"
        var type: ParamType?, defaultNode: YAMLNode?, doc: String?, minimum: Double?, maximum: Double?, choicesNode: YAMLNode?
        var inKey = true, keyUnlessDefault = false
        var finite = true
        let fields = reader.entries(body, path: path, what: what, allowed: Self.paramKeys, sink: &sink)
        for (field, _, value) in fields {
            switch field {
            case "type":
                guard let text = reader.string(value, path: "\(path).type", what: what, sink: &sink) else { continue }
                type = ParamType(rawValue: text)
                if type == nil {
                    sink.error(reader.location(value), "\(path).type", "\(what): unknown type '\(text)' (use int, float, string, bool or list)",
                               suggestion: Suggestion.nearest(to: text, in: ParamType.allCases.map(\.rawValue)))
                }
            case "default": defaultNode = value
            case "doc": doc = reader.string(value, path: "\(path).doc", what: what, sink: &sink)
            case "min":
                minimum = reader.number(value, path: "\(path).min", what: "\(what): min", sink: &sink)
                if let bound = minimum, bound.isNaN { sink.error(reader.location(value), "\(path).min", "\(what): min must be a number, not NaN"); minimum = nil }
            case "max":
                maximum = reader.number(value, path: "\(path).max", what: "\(what): max", sink: &sink)
                if let bound = maximum, bound.isNaN { sink.error(reader.location(value), "\(path).max", "\(what): max must be a number, not NaN"); maximum = nil }
            case "choices": choicesNode = value
            case "key":
                if let rule = keyRule(value, path: "\(path).key", what: "\(what): key", reader: reader, sink: &sink) {
                    (inKey, keyUnlessDefault) = rule
                }
            case "finite": finite = reader.bool(value, path: "\(path).finite", what: "\(what): finite", sink: &sink) ?? true
            default: break
            }
        }
        let location = reader.location(nameNode)
        guard let type else {
            if !fields.contains(where: { $0.key == "type" }) {
                sink.error(location, path, "\(what): missing 'type:' (int, float, string, bool or list)")
            }
            return nil
        }
        guard let defaultNode else {
            sink.error(location, path, "\(what): missing 'default:' (every param has a default)")
            return nil
        }
        var choices: [ParamValue]?
        if let choicesNode {
            guard case .sequence(let items) = choicesNode else {
                sink.error(reader.location(choicesNode), "\(path).choices", "\(what): choices must be a list")
                return nil
            }
            choices = []
            for item in items {
                switch ParamTyping.typed(reader.value(item), as: type) {
                case .success(let v): choices?.append(v)
                case .failure(let m): sink.error(reader.location(item), "\(path).choices", "\(what): choice: \(m.message)")
                }
            }
        }
        if (minimum != nil || maximum != nil) && type != .int && type != .float {
            sink.error(location, path, "\(what): min/max apply only to int and float params")
        }
        if !finite && type != .float {
            sink.error(location, path, "\(what): 'finite: false' applies only to float params")
        }
        let declaration: ParamDeclaration
        switch ParamTyping.typed(reader.value(defaultNode), as: type) {
        case .success(let value):
            declaration = ParamDeclaration(name: name, type: type, defaultValue: value, doc: doc, min: minimum,
                                           max: maximum, choices: choices, finite: finite, inKey: inKey,
                                           keyUnlessDefault: keyUnlessDefault, location: location)
        case .failure(let m):
            sink.error(reader.location(defaultNode), "\(path).default", "\(what): default: \(m.message)")
            return nil
        }
        if let problem = ParamTyping.checkLimits(declaration.defaultValue, declaration) {
            sink.error(reader.location(defaultNode), "\(path).default", "\(what): default \(problem.message)")
        }
        return declaration
    }
}
