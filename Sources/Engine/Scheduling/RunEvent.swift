import Foundation

/// What the scheduler tells a display about a run, in order. Plain data; displays decide the format.
public enum RunEvent: Sendable {
    /// The stages of the run in display (topological) order, and the executor's name.
    case planned(stages: [String], executor: String)
    /// The stage's key is in the store: nothing to run.
    case cached(stage: String)
    /// Ready and waiting for a free worker (or for another process that holds its key's lock).
    case queued(stage: String)
    /// Another pipe process (`holder`, "pid@host") is building the same key; this one waits for it.
    case waiting(stage: String, holder: String)
    case started(stage: String)
    /// The threads a starting stage was given (its share of the free cores), right after `started`.
    case threads(stage: String, count: Int)
    /// A progress event from the running stage.
    case progress(stage: String, step: Int, total: Int?, message: String)
    /// Downloaded from the remote cache instead of run (`bytes` moved; 0 when everything was local).
    case pulled(stage: String, seconds: Double, bytes: Int64)
    /// Something the user should know that does not fail the stage (e.g. the remote was unusable,
    /// so the stage runs locally).
    case warning(stage: String, message: String)
    /// Ran and committed. `reused` when another process built the same key meanwhile.
    case finished(stage: String, seconds: Double, reused: Bool)
    case failed(stage: String, seconds: Double, reason: String, logTail: [String], rerunCommand: String)
    case skipped(stage: String, because: String)
    case interrupted(stage: String)
    case runFinished(RunSummary)
}

/// Counts shown at the end of a run.
public struct RunSummary: Sendable, Equatable {
    public var runID: String
    public var ran: Int
    public var cached: Int
    public var failed: Int
    public var skipped: Int
    /// Downloaded from the remote cache (`pipe run --remote`).
    public var pulled: Int
    public var interrupted: Bool
    public var seconds: Double

    public init(runID: String, ran: Int, cached: Int, failed: Int, skipped: Int, pulled: Int = 0, interrupted: Bool, seconds: Double) {
        self.pulled = pulled
        self.runID = runID
        self.ran = ran
        self.cached = cached
        self.failed = failed
        self.skipped = skipped
        self.interrupted = interrupted
        self.seconds = seconds
    }
}

/// Receives run events; implementations must be safe to call from worker threads.
public protocol RunDisplay: AnyObject, Sendable {
    func handle(_ event: RunEvent)
    /// Called at the very end, after `.runFinished`, so a live view can leave the terminal tidy.
    func close()
}
