import Foundation
import Store

/// How to run a pipeline (`pipe run` flags).
public struct RunOptions: Sendable {
    /// Stages run at once. Default: one per core (see `defaultJobs`).
    public var jobs: Int
    /// Stage names to rebuild even when their key is cached.
    public var force: Set<String>
    /// The most threads one stage gets (nil: no limit but the cores). Not key material: built-ins
    /// give the same bytes for any thread count.
    public var threads: Int?
    /// Cores handed out to running stages (default: this machine's).
    public var cores: Int
    /// The built-in kinds and numeric environment of the binary that runs built-in stages.
    public var runtime: StageRuntime
    /// The `pipe run …` command line to print under a failed stage.
    public var rerunCommand: String
    /// Read-through cache (`--remote`): a stage missing locally is downloaded from here when the
    /// remote has its key, instead of run.
    public var remote: (any Remote)?

    public init(jobs: Int? = nil, force: Set<String> = [], threads: Int? = nil, cores: Int? = nil,
                runtime: StageRuntime = .commandsOnly, rerunCommand: String = "pipe run", remote: (any Remote)? = nil) {
        self.remote = remote
        self.threads = threads.map { max(1, $0) }
        self.cores = max(1, cores ?? ProcessInfo.processInfo.activeProcessorCount)
        self.jobs = max(1, jobs ?? self.cores)
        self.force = force
        self.runtime = runtime
        self.rerunCommand = rerunCommand
    }

    /// Threads for each of `stages` stages (in pipeline order) that share the cores left by stages
    /// holding `busy` threads they cannot give back: equal shares, the remainder to the first ones;
    /// at least 1 each, at most `threads`. The sum never exceeds the free cores unless there are
    /// more stages than free cores (each still needs one).
    public func coreShares(stages: Int, busy: Int) -> [Int] {
        guard stages > 0 else { return [] }
        let free = max(0, cores - busy)
        let base = free / stages, extra = free % stages
        return (0..<stages).map { position in
            let share = max(1, base + (position < extra ? 1 : 0))
            return min(share, threads ?? share)
        }
    }
}

extension RunStatus {
    /// `pipe run`'s exit status: 0 ok, 1 a stage failed, 130 interrupted (128 + SIGINT, as shells
    /// report Ctrl-C).
    public var exitCode: Int32 {
        switch self {
        case .succeeded, .running: return 0
        case .failed: return 1
        case .interrupted: return 130
        }
    }
}
