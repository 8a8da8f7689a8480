import Models
import StageWire

extension StageContext {
    /// The stage's worker pool: `threads` workers at first, then as many as the runner's budget file
    /// says at each safe point (between shard batches), so a stage takes the cores other stages
    /// leave when they finish and gives some back when new ones start. Bytes do not depend on it.
    public func workerPool() -> WorkerPool {
        WorkerPool.following(budgetFile: threadBudgetPath, threads: threads)
    }
}

extension WorkerPool {
    /// A pool of `threads` workers that follows the thread budget file at `path` (nil: fixed),
    /// reading it at most once per `interval`.
    public static func following(budgetFile path: String?, threads: Int,
                                 interval: Duration = .milliseconds(100)) -> WorkerPool {
        WorkerPool(threads: threads, budget: path.map { RunnerThreadBudget(ThreadBudgetReader(path: $0, interval: interval)) })
    }
}

/// A pool's budget read from the runner's thread budget file.
final class RunnerThreadBudget: ThreadBudgetSource, @unchecked Sendable {
    private let reader: ThreadBudgetReader

    init(_ reader: ThreadBudgetReader) { self.reader = reader }

    func currentBudget() -> Int? { reader.current() }
}
