import Pipeline
import Stages

/// A built-in's params as its `stages/<kind>.yaml` declares them (defaults), with overrides: for
/// benchmarks and tests that run a built-in without a pipeline.
public enum DeclaredParams {
    public static func defaults(kind: String, workspace: Workspace,
                                overrides: [String: StageParamValue] = [:]) throws -> StageParams {
        let declaration = try workspace.loadDeclaration(kind: kind)
        var values: [String: StageParamValue] = [:]
        for param in declaration.params { values[param.name] = param.defaultValue.stageParamValue }
        for (name, value) in overrides {
            guard values[name] != nil else {
                throw StageError.badParam(name, "not declared in \(declaration.file)")
            }
            values[name] = value
        }
        return StageParams(values)
    }
}

extension ParamValue {
    /// The value as a built-in stage reads it.
    public var stageParamValue: StageParamValue {
        switch self {
        case .int(let v): return .int(v)
        case .float(let v): return .float(v)
        case .string(let v): return .string(v)
        case .bool(let v): return .bool(v)
        case .list(let items): return .list(items.map(\.stageParamValue))
        }
    }
}
