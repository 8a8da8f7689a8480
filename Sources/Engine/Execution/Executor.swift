/// What an executor runs: one stage execution, fully prepared by the scheduler in `directory`
/// (inputs resolved to read-only paths, output directories created, invocation written).
public struct StageJob: Sendable {
    public enum Program: Sendable, Equatable {
        /// A built-in: `pipe _stage <invocationPath>`.
        case builtin(invocationPath: String)
        /// A command stage: `/bin/sh -c <command>` (already interpolated).
        case command(String)
    }

    /// Pipeline stage name (display, logs).
    public var stageName: String
    public var program: Program
    /// Working directory of the process.
    public var workingDirectory: String
    /// Full environment (`NAME=value`), already including `OPENBLAS_NUM_THREADS`, `PIPE_EVENTS`, ….
    public var environment: [String]
    /// stdout+stderr go here; it becomes the stage's log artifact.
    public var logPath: String
    /// JSON-lines events the stage appends (progress, metrics).
    public var eventsPath: String
    /// Resources for batch executors (Slurm); the local executor ignores them.
    public var resources: [String: String]
    /// The key's lock file descriptor; the local executor hands it to the stage process so the key
    /// stays locked until every process of the stage has ended.
    public var lockDescriptor: Int32?

    public init(stageName: String, program: Program, workingDirectory: String, environment: [String],
                logPath: String, eventsPath: String, resources: [String: String] = [:]) {
        self.stageName = stageName
        self.program = program
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.logPath = logPath
        self.eventsPath = eventsPath
        self.resources = resources
    }
}

/// How a stage process ended, as seen by the scheduler.
public enum ExecutionOutcome: Sendable, Equatable {
    /// Exit status 0. `cpuSeconds`: user + system CPU time of the stage's processes, where the
    /// executor can measure it (the local executor); it goes into the stage record, never the key.
    case succeeded(cpuSeconds: Double? = nil)
    /// Non-zero exit or killed by a signal; the message says which.
    case failed(String)
    /// Stopped because the run was interrupted (Ctrl-C / SIGTERM).
    case interrupted
}

/// Runs stage processes somewhere: the local machine (`LocalExecutor`) or a Slurm cluster (`SlurmExecutor`).
/// `execute` blocks the calling worker thread until the stage ends; `interrupt` may be called from
/// any thread and makes every running `execute` return `.interrupted` soon.
public protocol Executor: Sendable {
    /// A short label shown in the live view ("local", "slurm").
    var name: String { get }
    /// Path of the `pipe` binary that runs built-in stages (`pipe _stage …`).
    var pipeExecutable: String { get }
    func execute(_ job: StageJob) -> ExecutionOutcome
    func interrupt()
    /// Whether stages run on this machine's cores, which the scheduler may then move between running
    /// built-ins (a batch executor's stages keep the CPUs they were allocated).
    var sharesCores: Bool { get }
}

extension Executor {
    public var sharesCores: Bool { false }
}
