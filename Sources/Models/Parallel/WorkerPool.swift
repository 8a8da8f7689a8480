import Foundation
import Tensor

/// Where a pool learns how many threads it may use now: the runner's share of the cores for this
/// stage, which rises when other stages finish and falls when new ones start.
public protocol ThreadBudgetSource: AnyObject, Sendable {
    /// The threads the pool may use from now on (nil: keep the current count). Called at the pool's
    /// safe points, possibly many times per step, so it must be cheap.
    func currentBudget() -> Int?
}

/// A set of worker threads that run the tasks of one call to `run` (the caller's thread is worker 0).
/// Tasks are handed out in index order to whichever worker is free, so which worker runs a task
/// depends on timing: a task's result must depend only on its index (state indexed by the worker is
/// scratch, fully rewritten by each task), and then it cannot depend on the number of threads or on
/// the schedule.
///
/// The number of workers is elastic: with a `budget`, each `run` first adopts the budget's current
/// value (a safe point: no task of this pool is running), starting threads as needed; workers above
/// the count sleep. Since results never depend on the count, changing it mid-stage changes no byte.
///
/// Every thread runs BLAS single-threaded (`BLAS.setThreads(1)`): the parallelism is the pool's.
public final class WorkerPool: @unchecked Sendable {
    /// The most workers a budget can ask for (a garbled budget must not start thousands of threads).
    public static let maxThreads = 256

    /// Workers the next `run` uses (changed only by `adoptBudget`, on the caller's thread).
    public private(set) var threads: Int
    private let budget: (any ThreadBudgetSource)?
    /// Threads started so far (workers 1..<started exist; worker 0 is the caller).
    private var started = 1
    /// Every count this pool has run with, in order (consecutive repeats folded): what tests and
    /// logs look at to see that a budget change was picked up.
    public private(set) var threadHistory: [Int]
    private let state = PoolState()

    /// A pool of `threads` workers (at least 1; 1 runs everything on the caller's thread), following
    /// `budget` from its first `run` on when one is given.
    public init(threads: Int, budget: (any ThreadBudgetSource)? = nil) {
        self.threads = min(max(1, threads), Self.maxThreads)
        self.budget = budget
        self.threadHistory = [self.threads]
        BLAS.setThreads(1)
        startThreads(upTo: self.threads)
    }

    deinit { state.stop() }

    /// Takes the budget's current value as the worker count (threads start on first need; workers
    /// above the count sleep) and returns the count. Call only between `run`s, from the thread that
    /// calls `run`.
    @discardableResult
    public func adoptBudget() -> Int {
        guard let wanted = budget?.currentBudget() else { return threads }
        let count = min(max(1, wanted), Self.maxThreads)
        if count != threads {
            startThreads(upTo: count)
            threads = count
            threadHistory.append(count)
        }
        return threads
    }

    private func startThreads(upTo count: Int) {
        while started < count {
            let worker = started
            let thread = Thread { [state] in state.workerLoop(worker: worker) }
            thread.name = "pipe.pool.\(worker)"
            thread.stackSize = 8 << 20
            thread.start()
            started += 1
        }
    }

    /// Runs `body(task, worker)` for every task in 0..<count, in parallel (worker in 0..<threads says
    /// which thread runs it), and returns when all have finished. Adopts the budget first unless
    /// `adoptingBudget` is false (the caller adopted it and sized per-worker state for `threads`).
    /// Not reentrant: `body` must not call `run` on the same pool.
    public func run(tasks count: Int, adoptingBudget: Bool = true, _ body: (_ task: Int, _ worker: Int) -> Void) {
        if adoptingBudget { adoptBudget() }
        if count == 0 { return }
        if threads == 1 || count == 1 {
            for task in 0..<count { body(task, 0) }
            return
        }
        withoutActuallyEscaping(body) { state.run(tasks: count, workers: threads, $0) }
    }

    /// `run` without the worker index.
    public func run(tasks count: Int, _ body: (_ task: Int) -> Void) {
        run(tasks: count) { task, _ in body(task) }
    }
}

/// The state the pool's threads share (they hold it, not the pool, so dropping the pool stops them).
private final class PoolState: @unchecked Sendable {
    private let condition = NSCondition()
    /// The current call's body, task count, progress and workers; guarded by `condition`.
    private var body: ((Int, Int) -> Void)?
    private var taskCount = 0
    private var nextTask = 0
    private var tasksDone = 0
    /// Workers 0..<activeWorkers take tasks of the current call; the others sleep.
    private var activeWorkers = 1
    private var stopping = false

    func run(tasks count: Int, workers: Int, _ body: @escaping (Int, Int) -> Void) {
        condition.lock()
        self.body = body
        taskCount = count
        nextTask = 0
        tasksDone = 0
        activeWorkers = workers
        condition.broadcast()
        condition.unlock()
        drainTasks(worker: 0)
        condition.lock()
        while tasksDone < taskCount { condition.wait() }
        self.body = nil
        taskCount = 0
        nextTask = 0
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Takes and runs tasks of the current call until none are left (or this worker is not one of
    /// the call's: a worker still leaving the previous call must not take the next call's tasks).
    func drainTasks(worker: Int) {
        while true {
            condition.lock()
            guard nextTask < taskCount, worker < activeWorkers else { condition.unlock(); return }
            let task = nextTask
            nextTask += 1
            condition.unlock()
            perform(task, worker: worker)
            condition.lock()
            tasksDone += 1
            if tasksDone == taskCount { condition.broadcast() }
            condition.unlock()
        }
    }

    /// Runs one task; its reference to the body ends with this call, before the task counts as done
    /// (the caller's non-escaping closure must not outlive `run`).
    @inline(never) private func perform(_ task: Int, worker: Int) {
        condition.lock()
        let work = body
        condition.unlock()
        work?(task, worker)
    }

    func workerLoop(worker: Int) {
        while true {
            condition.lock()
            while !stopping && (nextTask >= taskCount || worker >= activeWorkers) { condition.wait() }
            if stopping { condition.unlock(); return }
            condition.unlock()
            drainTasks(worker: worker)
        }
    }
}
