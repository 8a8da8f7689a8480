/// Everything a built-in stage process (`pipe _stage invocation.json`) needs, written by the
/// scheduler into the execution's directory. Plain data so that a Slurm job on another node can read
/// it from a shared filesystem just as a local child does. The scheduler (Engine) writes it, the
/// stage host (StageHost) reads it: this file is the one definition both sides share.
public struct StageInvocation: Codable, Sendable, Equatable {
    public var kind: String
    public var stageName: String
    public var params: [String: Param]
    /// Input name → read-only artifact path.
    public var inputs: [String: String]
    /// Output name → directory the stage writes into.
    public var outputs: [String: String]
    public var seed: UInt64
    public var threads: Int
    public var scratchPath: String
    /// JSON-lines file the stage appends progress and metric events to.
    public var eventsPath: String
    /// The kernels the stage key was computed for (`BLAS.kernelSignature` of `pipe run`); the stage refuses
    /// to run with another one, so an artifact never sits under a key that misstates how it was made.
    public var blasCore: String?
    /// Directory kept for this key across executions, for a training stage's checkpoints (nil: none).
    public var resumeDirectory: String?
    /// Input name → where it came from, for messages: `stage.output`, or the workspace path of a
    /// path input (`data/alpaca.json`). Not part of the key. Nil in older invocation files.
    public var inputSources: [String: String]?
    /// The runner's `ThreadBudgetFile` for this execution: the threads the stage may use now, which
    /// change while it runs (nil: `threads` for the whole run, e.g. on a Slurm allocation).
    public var threadBudgetPath: String?

    public init(kind: String, stageName: String, params: [String: Param], inputs: [String: String],
                outputs: [String: String], seed: UInt64, threads: Int, scratchPath: String, eventsPath: String,
                blasCore: String? = nil, resumeDirectory: String? = nil, inputSources: [String: String]? = nil,
                threadBudgetPath: String? = nil) {
        self.kind = kind
        self.stageName = stageName
        self.params = params
        self.inputs = inputs
        self.outputs = outputs
        self.seed = seed
        self.threads = threads
        self.scratchPath = scratchPath
        self.eventsPath = eventsPath
        self.blasCore = blasCore
        self.resumeDirectory = resumeDirectory
        self.inputSources = inputSources
        self.threadBudgetPath = threadBudgetPath
    }
}

extension StageInvocation {
    /// A resolved param value as JSON: `true`, `3`, `2.5e-05`, `"text"`, `[1, 2]`.
    public enum Param: Sendable, Codable, Equatable {
        case int(Int64)
        case float(Double)
        case string(String)
        case bool(Bool)
        case list([Param])

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .bool(b); return }
            if let i = try? c.decode(Int64.self) { self = .int(i); return }
            if let d = try? c.decode(Double.self) { self = .float(d); return }
            if let s = try? c.decode(String.self) { self = .string(s); return }
            self = .list(try c.decode([Param].self))
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .int(let v): try c.encode(v)
            case .float(let v): try c.encode(v)
            case .string(let v): try c.encode(v)
            case .bool(let v): try c.encode(v)
            case .list(let v): try c.encode(v)
            }
        }
    }
}
