import Hashing

/// An input wired to an upstream stage's output (`policy: sft.model`).
public struct InputBinding: Sendable, Codable, Hashable {
    public var name: String
    public var stage: String
    public var output: String
    public var location: SourceLocation

    /// `stage.output`
    public var reference: String { "\(stage).\(output)" }
}

/// One stage, fully resolved: typed params with defaults and overrides applied, inputs checked
/// against their producers. Everything the runner needs to key and run it.
public struct ResolvedStage: Sendable, Codable, Hashable {
    /// The stage's name in the pipeline (display only: not in the key).
    public var name: String
    /// The declared kind, or `"run"` for an inline `run:` stage.
    public var kind: String
    public var implementation: Implementation
    /// From the declaration's `version:`; 1 for inline `run:` stages.
    public var implementationVersion: Int
    /// Sorted by name (UTF-8 byte order); defaults included.
    public var params: [ResolvedParam]
    /// Params declared `key: false`: passed to the stage, left out of its key.
    public var nonKeyParams: [String] = []
    /// Sorted by input name. Unbound optional inputs are absent.
    public var inputs: [InputBinding]
    /// Inputs given as workspace paths, sorted by input name (names never repeat those of `inputs`).
    public var pathInputs: [PathInput] = []
    /// Output names (declaration order, or the `outs:` list of a `run:` stage).
    public var outputs: [String]
    /// Command stages: JSON/YAML files among the outputs whose numbers are recorded as the stage's
    /// metrics once the command ran (the declaration's, then the pipeline stage's).
    public var metricsFiles: [MetricsFile] = []
    /// Workspace-relative files the command reads: the declaration's deps, then the stage's.
    public var deps: [String]
    public var resources: Resources
    /// Position of the stage's name in the pipeline file.
    public var location: SourceLocation
    /// The declaration file (`stages/ppo.yaml`), nil for inline `run:` stages.
    public var declarationFile: String?
    /// The pipeline's seed (after `--set seed=` or a seed sweep): in the key, and given to the stage.
    public var seed: UInt64 = 0

    public func param(_ name: String) -> ParamValue? {
        params.first { $0.name == name }?.value
    }

    public func input(_ name: String) -> InputBinding? {
        inputs.first { $0.name == name }
    }

    /// Names of the stages this one reads from, sorted, without repeats.
    public var upstreamStages: [String] {
        var seen = Set<String>()
        return inputs.map(\.stage).filter { seen.insert($0).inserted }.sorted { $0.utf8Precedes($1) }
    }

    /// The command template for command stages, nil for built-ins.
    public var commandTemplate: String? {
        if case .command(let template) = implementation { return template }
        return nil
    }
}
