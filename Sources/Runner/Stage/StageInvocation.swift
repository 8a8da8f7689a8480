import Stages

/// Everything a built-in stage process (`pipe _stage invocation.json`) needs, written by the
/// scheduler into the execution's directory. Plain data so that a Slurm job on another node can read
/// it from a shared filesystem just as a local child does.
public struct StageInvocation: Codable, Sendable, Equatable {
    public var kind: String
    public var stageName: String
    public var params: [String: StageParamValue]
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

    public init(kind: String, stageName: String, params: [String: StageParamValue], inputs: [String: String],
                outputs: [String: String], seed: UInt64, threads: Int, scratchPath: String, eventsPath: String,
                blasCore: String? = nil) {
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
    }
}
