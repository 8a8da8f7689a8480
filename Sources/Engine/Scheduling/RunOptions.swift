import Foundation
import Store

/// How to run a pipeline (`pipe run` flags).
public struct RunOptions: Sendable {
    /// Stages run at once. Default: one per core divided by BLAS threads per stage (see `defaultJobs`).
    public var jobs: Int
    /// Stage names to rebuild even when their key is cached.
    public var force: Set<String>
    /// BLAS/OpenMP threads per stage (`OPENBLAS_NUM_THREADS`); part of the numeric environment.
    public var threads: Int
    /// The built-in kinds and numeric environment of the binary that runs built-in stages.
    public var runtime: StageRuntime
    /// The `pipe run …` command line to print under a failed stage.
    public var rerunCommand: String
    /// Read-through cache (`--remote`): a stage missing locally is downloaded from here when the
    /// remote has its key, instead of run.
    public var remote: (any Remote)?

    public init(jobs: Int? = nil, force: Set<String> = [], threads: Int = 1, runtime: StageRuntime = .commandsOnly,
                rerunCommand: String = "pipe run", remote: (any Remote)? = nil) {
        self.remote = remote
        self.threads = max(1, threads)
        self.jobs = max(1, jobs ?? Self.defaultJobs(threads: max(1, threads)))
        self.force = force
        self.runtime = runtime
        self.rerunCommand = rerunCommand
    }

    /// Stages are single-threaded by default (`OPENBLAS_NUM_THREADS=1`), so one stage per core keeps
    /// every core busy without oversubscribing them (OpenBLAS threads spin-wait and collapse when
    /// cores are shared). With `--threads N`, cores / N stages.
    public static func defaultJobs(threads: Int) -> Int {
        max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, threads))
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
