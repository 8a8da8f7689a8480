import StageWire

/// What a built-in stage sees of the runner. Stages never import Runner, Pipeline or Store.
///
/// A stage reads its inputs (read-only paths to artifact files or directories), writes each of its
/// declared outputs into `outputPath(name)`, reads typed params (defaults already applied by the
/// pipeline layer) and reports progress, metrics and log lines through the sink methods.
public protocol StageContext: AnyObject {
    /// The stage kind, e.g. "ppo".
    var kind: String { get }
    /// The stage's name in the pipeline, e.g. "ppo" or "ppo@lr=3e-05" (display only, not in the key).
    var stageName: String { get }
    /// The seed that is part of the stage key.
    var seed: UInt64 { get }
    /// Resolved params, defaults included.
    var params: StageParams { get }
    /// Path of a named input artifact (a file or a directory, read-only). Throws if undeclared.
    func inputPath(_ name: String) throws -> String
    /// Where a named input came from, for messages: `stage.output`, or a workspace path
    /// (`data/alpaca.json`) for a path input. Nil when unknown.
    func inputSource(_ name: String) -> String?
    /// Path where the named output must be written (a directory the stage creates content in).
    func outputPath(_ name: String) throws -> String
    /// Scratch directory private to this execution, deleted afterwards.
    var scratchPath: String { get }
    /// Number of BLAS threads the stage may use (default 1): at the start; see `threadBudgetPath`.
    var threads: Int { get }
    /// The runner's thread budget file (`ThreadBudgetFile`) when the stage's share of the cores may
    /// change while it runs; `workerPool()` follows it. Nil: `threads` throughout.
    var threadBudgetPath: String? { get }
    /// A directory kept for this stage key across executions (nil: none), where training stages keep
    /// their checkpoints so that a rerun of the same key after a kill continues; the runner removes it
    /// when the key's result is stored.
    var resumeDirectory: String? { get }

    /// Progress of the current phase: `step` of `total` (nil total = unknown), with a short message
    /// shown in the live view (e.g. "loss 2.314").
    func progress(phase: String, step: Int, total: Int?, message: String)
    /// Scalar metrics at a step (e.g. ["train/loss": 2.3]). Ordered pairs so output is deterministic.
    func metrics(step: Int, _ values: [(String, Double)])
    /// A log line (goes to the stage's log artifact).
    func log(_ line: String)
}

extension StageContext {
    public var resumeDirectory: String? { nil }
    public var threadBudgetPath: String? { nil }
    public func inputSource(_ name: String) -> String? { nil }
}

/// A built-in stage implementation. Its interface (inputs, outputs, params with defaults) and its
/// version (part of the stage key: bump it when the output bytes change) live in `stages/<kind>.yaml`.
public protocol BuiltinStage {
    /// Kind name as used in `stages/<kind>.yaml` (`builtin: <kind>`).
    static var kind: String { get }
    /// Reads and checks every param the stage uses, without touching inputs (so a test can hold the
    /// params a built-in reads against those its YAML declares).
    static func checkParams(_ params: StageParams) throws
    static func run(_ context: StageContext) throws
}

/// Typed, already-validated params of one stage execution.
public struct StageParams: Sendable, Codable, Equatable {
    public var values: [String: StageParamValue]

    public init(_ values: [String: StageParamValue]) { self.values = values }

    public func int(_ name: String) throws -> Int {
        switch try value(name) {
        case .int(let v): return Int(v)
        case .float(let v) where v.rounded() == v: return Int(v)
        default: throw StageError.badParam(name, "expected an integer")
        }
    }

    public func double(_ name: String) throws -> Double {
        switch try value(name) {
        case .int(let v): return Double(v)
        case .float(let v): return v
        default: throw StageError.badParam(name, "expected a number")
        }
    }

    public func float(_ name: String) throws -> Float { Float(try double(name)) }

    public func string(_ name: String) throws -> String {
        guard case .string(let v) = try value(name) else { throw StageError.badParam(name, "expected a string") }
        return v
    }

    public func bool(_ name: String) throws -> Bool {
        guard case .bool(let v) = try value(name) else { throw StageError.badParam(name, "expected true or false") }
        return v
    }

    public func strings(_ name: String) throws -> [String] {
        guard case .list(let items) = try value(name) else { throw StageError.badParam(name, "expected a list") }
        return try items.map {
            guard case .string(let s) = $0 else { throw StageError.badParam(name, "expected a list of strings") }
            return s
        }
    }

    public func value(_ name: String) throws -> StageParamValue {
        guard let v = values[name] else { throw StageError.badParam(name, "missing (not declared in the stage's YAML?)") }
        return v
    }
}

/// A param value as passed to a stage process (JSON-friendly): the invocation file's own type, so the
/// child reads params exactly as the scheduler wrote them.
public typealias StageParamValue = StageInvocation.Param

public enum StageError: Error, Equatable, CustomStringConvertible {
    case badParam(String, String)
    case badInput(String, String)
    case failed(String)

    public var description: String {
        switch self {
        case .badParam(let name, let why): return "param '\(name)': \(why)"
        case .badInput(let name, let why): return "input '\(name)': \(why)"
        case .failed(let why): return why
        }
    }
}
