import Foundation
import Tensor

/// A fixed set of worker threads that run the tasks of one call to `run` (the caller's thread is
/// worker 0). Tasks are handed out in index order to whichever worker is free, so which worker runs a
/// task depends on timing: a task's result must depend only on its index (state indexed by the
/// worker is scratch, fully rewritten by each task), and then it cannot depend on the number of
/// threads or on the schedule.
///
/// Every thread runs BLAS single-threaded (`BLAS.setThreads(1)`): the parallelism is the pool's.
public final class WorkerPool: @unchecked Sendable {
    public let threads: Int
    private let state = PoolState()

    /// A pool of `threads` workers (at least 1; 1 runs everything on the caller's thread).
    public init(threads: Int) {
        self.threads = max(1, threads)
        BLAS.setThreads(1)
        for worker in 1..<self.threads {
            let thread = Thread { [state] in state.workerLoop(worker: worker) }
            thread.name = "pipe.pool.\(worker)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    deinit { state.stop() }

    /// Runs `body(task, worker)` for every task in 0..<count, in parallel (worker in 0..<threads says
    /// which thread runs it), and returns when all have finished. Not reentrant: `body` must not call
    /// `run` on the same pool.
    public func run(tasks count: Int, _ body: (_ task: Int, _ worker: Int) -> Void) {
        if count == 0 { return }
        if threads == 1 || count == 1 {
            for task in 0..<count { body(task, 0) }
            return
        }
        withoutActuallyEscaping(body) { state.run(tasks: count, $0) }
    }

    /// `run` without the worker index.
    public func run(tasks count: Int, _ body: (_ task: Int) -> Void) {
        run(tasks: count) { task, _ in body(task) }
    }
}

/// The state the pool's threads share (they hold it, not the pool, so dropping the pool stops them).
private final class PoolState: @unchecked Sendable {
    private let condition = NSCondition()
    /// The current call's body, task count and progress; guarded by `condition`.
    private var body: ((Int, Int) -> Void)?
    private var taskCount = 0
    private var nextTask = 0
    private var tasksDone = 0
    private var stopping = false

    func run(tasks count: Int, _ body: @escaping (Int, Int) -> Void) {
        condition.lock()
        self.body = body
        taskCount = count
        nextTask = 0
        tasksDone = 0
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

    /// Takes and runs tasks of the current call until none are left.
    func drainTasks(worker: Int) {
        while true {
            condition.lock()
            guard nextTask < taskCount else { condition.unlock(); return }
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
            while !stopping && nextTask >= taskCount { condition.wait() }
            if stopping { condition.unlock(); return }
            condition.unlock()
            drainTasks(worker: worker)
        }
    }
}
