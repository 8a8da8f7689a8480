/// `stage.param=value` from `--set`, a `--sweep` axis, or a `sweep:` entry in the pipeline file.
/// The value stays raw until resolution types it by the param's declared type.
public struct ParamOverride: Sendable, CustomStringConvertible {
    public var stage: String
    public var param: String
    public var value: YAMLValue
    /// How the override was written, for messages: `--set ppo.lr=3e-5` or `sweep`.
    public var origin: String
    /// Position of `stage.param` when it came from the pipeline file.
    public var location: SourceLocation?

    public init(stage: String, param: String, value: YAMLValue, origin: String, location: SourceLocation?) {
        self.stage = stage
        self.param = param
        self.value = value
        self.origin = origin
        self.location = location
    }

    /// `stage.param=value` as written.
    public var description: String { "\(stage).\(param)=\(value)" }

    /// Parses `stage.param=value`; the value is YAML (`3e-5`, `true`, `"text"`, `[a, b]`).
    public static func parse(_ text: String, flag: String = "--set") throws(PipelineError) -> ParamOverride {
        let origin = "\(flag) \(text)"
        guard let equals = text.firstIndex(of: "=") else {
            throw PipelineError(location: nil, fieldPath: origin, message: "\(origin): expected stage.param=value (e.g. \(flag) ppo.lr=3e-5)")
        }
        let (stage, param) = try splitTarget(String(text[..<equals]), origin: origin, example: "\(flag) ppo.lr=3e-5")
        let value = try parseValue(String(text[text.index(after: equals)...]), origin: origin)
        return ParamOverride(stage: stage, param: param, value: value, origin: origin, location: nil)
    }

    /// `stage.param` → its two parts.
    static func splitTarget(_ target: String, origin: String, example: String) throws(PipelineError) -> (String, String) {
        // The pipeline's own seed: `--set seed=7`, `--sweep seed=1,2,3` (a stage-less target).
        if target == "seed" { return ("", "seed") }
        let parts = target.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw PipelineError(location: nil, fieldPath: origin, message: "\(origin): '\(target)' is not stage.param (e.g. \(example))")
        }
        return (String(parts[0]), String(parts[1]))
    }

    /// A command-line value read as a YAML flow value, so `3e-5` is a float and `'3'` a string.
    static func parseValue(_ text: String, origin: String) throws(PipelineError) -> YAMLValue {
        let trimmed = text.drop { $0 == " " }
        if trimmed.isEmpty {
            throw PipelineError(location: nil, fieldPath: origin, message: "\(origin): missing value after '='")
        }
        let node: YAMLNode?
        do {
            node = try YAMLComposer.compose(String(trimmed))
        } catch {
            throw PipelineError(location: nil, fieldPath: origin, message: "\(origin): cannot parse value '\(trimmed)' (quote text with '...', write lists as [a, b])")
        }
        guard let node, node.mapping == nil else {
            throw PipelineError(location: nil, fieldPath: origin, message: "\(origin): cannot parse value '\(trimmed)' (expected a scalar or a list [a, b])")
        }
        var value = YAMLReader(file: "", text: "").value(node)
        value.location = nil
        return Self.strippingLocations(value)
    }

    private static func strippingLocations(_ value: YAMLValue) -> YAMLValue {
        switch value.content {
        case .scalar: return YAMLValue(value.content, location: nil)
        case .sequence(let items): return YAMLValue(.sequence(items.map(strippingLocations)), location: nil)
        case .mapping(let pairs):
            return YAMLValue(.mapping(pairs.map { (strippingLocations($0.key), strippingLocations($0.value)) }), location: nil)
        }
    }
}
