/// A pipeline file as written (`pipelines/<name>.yaml`), before declarations are applied.
public struct PipelineSpec: Sendable {
    /// The file as displayed in diagnostics.
    public var file: String
    public var name: String
    public var seed: UInt64
    /// In file order (ties in the topological order are broken by it).
    public var stages: [StageSpec]
    public var sweep: SweepSpec?
    /// The pipeline file first, then the files it includes in the order they were read.
    public var sources: [PipelineSource] = []
}

/// One entry under `stages:`.
public struct StageSpec: Sendable {
    public enum Body: Sendable {
        /// `uses: <kind>`, resolved against `stages/<kind>.yaml`.
        case uses(kind: String, location: SourceLocation)
        /// `run: "<command>"`, an inline command stage with no declaration.
        case run(command: String, location: SourceLocation)
    }

    public var name: String
    /// Position of the stage's name (its key under `stages:`).
    public var location: SourceLocation
    public var body: Body
    /// `inputs: {name: stage.output}` in file order.
    public var inputs: [InputReference]
    /// `inputs: {name: ./workspace/path}` in file order.
    public var pathInputs: [PathInput] = []
    /// `with:` params in file order, untyped until resolution.
    public var with: [(name: String, value: YAMLValue, location: SourceLocation)]
    public var deps: [PathEntry]
    public var outs: [PathEntry]
    /// `metrics:` files of a `run:` stage, each among its `outs` (or inside one).
    public var metrics: [MetricsFile] = []
    public var resources: Resources?
}

/// `name: stage.output` in a stage's `inputs:`.
public struct InputReference: Sendable, Hashable {
    public var name: String
    public var stage: String
    public var output: String
    /// Position of the input's name.
    public var location: SourceLocation
    /// Position of the `stage.output` value.
    public var valueLocation: SourceLocation

    public var reference: String { "\(stage).\(output)" }
}

/// An input given as a workspace file or directory (`source: ./data/reviews`), hashed by content
/// like an artifact and passed to the stage as a read-only copy in the store.
public struct PathInput: Sendable, Codable, Hashable {
    public var name: String
    /// Workspace-relative and normalised (`data/reviews`, no leading `./`).
    public var path: String
    /// Position of the path value.
    public var location: SourceLocation

    public init(name: String, path: String, location: SourceLocation) {
        self.name = name
        self.path = path
        self.location = location
    }

    /// How the pipeline file writes it (`./data/reviews`): the input's source in key material.
    public var reference: String { "./" + path }
}

/// A workspace-relative path in `deps:` or `outs:`.
public struct PathEntry: Sendable, Hashable {
    public var path: String
    public var location: SourceLocation
}

/// The `sweep:` block: a grid over `stage.param: [values]` plus explicit variants.
public struct SweepSpec: Sendable {
    public struct Axis: Sendable {
        public var stage: String
        public var param: String
        public var values: [YAMLValue]
        public var location: SourceLocation
        /// How a command-line axis was written (`--sweep ppo.lr=1e-5,3e-5`); nil for the file's.
        public var origin: String?
    }

    public var axes: [Axis]
    /// Each explicit variant is a set of overrides (`- {ppo.lr: 1e-5, ppo.steps: 10}`).
    public var variants: [[ParamOverride]]
    /// The metric that ranks variants in the sweep table (`metric: eval/reward`), if named.
    public var metric: String?
    /// Whether a larger metric is better (`goal: max`, the default) or smaller (`goal: min`).
    public var maximize: Bool
    public var location: SourceLocation
}
