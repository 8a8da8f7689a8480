/// How a stage runs: a built-in Swift stage (run as `pipe _stage …`) or a shell command template.
public enum Implementation: Sendable, Codable, Hashable {
    /// A built-in stage, by its registry name (`builtin: ppo`).
    case builtin(String)
    /// A shell command with `${params.X}`, `${inputs.X}`, `${outs.X}` references.
    case command(String)
}

/// Scheduler hints (`resources:`), used by the Slurm executor. Not part of the stage key.
public struct Resources: Sendable, Codable, Hashable {
    public var cpus: Int?
    public var gpus: Int?
    /// e.g. "4G"
    public var mem: String?
    /// e.g. "30m", "2h"
    public var time: String?

    public init(cpus: Int? = nil, gpus: Int? = nil, mem: String? = nil, time: String? = nil) {
        self.cpus = cpus
        self.gpus = gpus
        self.mem = mem
        self.time = time
    }

    static let fieldNames = ["cpus", "gpus", "mem", "time"]

    /// Values set here win over `base` (a pipeline stage's resources over its declaration's).
    public func overriding(_ base: Resources) -> Resources {
        Resources(cpus: cpus ?? base.cpus, gpus: gpus ?? base.gpus, mem: mem ?? base.mem, time: time ?? base.time)
    }
}

public struct InputDeclaration: Sendable, Codable, Hashable {
    public var name: String
    public var doc: String?
    /// An optional input may be left unbound in a pipeline.
    public var optional: Bool
    public var location: SourceLocation
}

public struct OutputDeclaration: Sendable, Codable, Hashable {
    public var name: String
    public var doc: String?
    public var location: SourceLocation
}

public struct ParamDeclaration: Sendable, Codable, Hashable {
    public var name: String
    public var type: ParamType
    public var defaultValue: ParamValue
    public var doc: String?
    /// Bounds for int and float params (inclusive).
    public var min: Double?
    public var max: Double?
    /// Allowed values (any type; checked after typing).
    public var choices: [ParamValue]?
    /// Float params reject NaN and ±infinity unless the declaration says `finite: false`.
    public var finite = true
    /// False for params that cannot change the outputs (`key: false`, e.g. how often to checkpoint):
    /// the stage receives them, the stage key leaves them out.
    public var inKey: Bool = true
    /// `key: unless_default`: in the key only when set to something other than its default, so a
    /// param added to a kind without changing what its default does keeps every existing key.
    public var keyUnlessDefault = false
    public var location: SourceLocation

    /// `min` as written for the param's type (`1` for an int param, `0.01` for a float), for `pipe stages`.
    public var minDescription: String? { min.map { ParamTyping.display($0, type) } }
    /// `max` as written for the param's type.
    public var maxDescription: String? { max.map { ParamTyping.display($0, type) } }
}

/// The interface of a stage kind: `stages/<kind>.yaml` (see stages/README.md).
public struct StageDeclaration: Sendable, Codable, Hashable {
    public var kind: String
    /// Implementation version: part of the stage key, bumped when outputs change.
    public var version: Int
    public var doc: String?
    public var implementation: Implementation
    /// Workspace-relative files a `run:` command reads (their digests are in the key).
    public var deps: [String]
    public var inputs: [InputDeclaration]
    public var outputs: [OutputDeclaration]
    /// `metrics:` files of a `run:` declaration, each among its outputs (or inside one).
    public var metrics: [MetricsFile] = []
    /// In file order (`pipe stages` prints them so); the resolved stage sorts by name.
    public var params: [ParamDeclaration]
    public var resources: Resources
    /// The declaration file as displayed (e.g. `stages/ppo.yaml`).
    public var file: String

    public func param(_ name: String) -> ParamDeclaration? { params.first { $0.name == name } }
    public func input(_ name: String) -> InputDeclaration? { inputs.first { $0.name == name } }
    public func output(_ name: String) -> OutputDeclaration? { outputs.first { $0.name == name } }
}
