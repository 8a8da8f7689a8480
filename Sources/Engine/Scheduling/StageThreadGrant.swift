import Foundation
import Pipeline
import StageWire

/// The threads the scheduler grants one stage execution. For a built-in on this machine's cores
/// the grant is elastic: the scheduler raises it when other stages finish and lowers it when new ones
/// start, and the stage follows through its `ThreadBudgetFile` (its pool reads it between shard
/// batches). Commands and batch-executor stages keep what they started with.
final class StageThreadGrant: @unchecked Sendable {
    /// Whether the grant may change while the stage runs.
    let isElastic: Bool
    private let lock = NSLock()
    private var count: Int
    /// The budget file while the stage's staging directory exists.
    private var path: String?
    /// Set once the stage has started: from then on every change is announced.
    private var announce: ((Int) -> Void)?

    init(threads: Int, isElastic: Bool) {
        self.count = threads
        self.isElastic = isElastic
    }

    /// A built-in on the cores the scheduler shares out follows its grant; anything else keeps it.
    static func isElastic(_ stage: ResolvedStage, executor: any Executor) -> Bool {
        guard executor.sharesCores, case .builtin = stage.implementation else { return false }
        return true
    }

    var threads: Int {
        lock.lock(); defer { lock.unlock() }
        return count
    }

    /// Writes the budget file into the staging `directory` and returns its path for the invocation
    /// (nil when the grant is not elastic).
    func attach(directory: String) throws -> String? {
        guard isElastic else { return nil }
        lock.lock(); defer { lock.unlock() }
        let file = directory + "/" + ThreadBudgetFile.name
        try ThreadBudgetFile.write(count, to: file)
        path = file
        return file
    }

    /// The staging directory is going away: later changes are not written.
    func detach() {
        lock.lock(); path = nil; lock.unlock()
    }

    /// The stage started: `announce` gets the current count now and every later one.
    func started(announce: @escaping (Int) -> Void) {
        lock.lock(); defer { lock.unlock() }
        self.announce = announce
        announce(count)
    }

    /// Changes the grant (elastic grants only): rewrites the budget file and announces the new count
    /// if the stage has started.
    func change(to threads: Int) {
        guard isElastic else { return }
        lock.lock(); defer { lock.unlock() }
        guard threads != count else { return }
        count = threads
        // A failed write leaves the stage on its previous count; the next change tries again.
        if let path { try? ThreadBudgetFile.write(threads, to: path) }
        announce?(threads)
    }
}
