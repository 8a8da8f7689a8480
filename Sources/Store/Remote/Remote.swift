import Foundation
import Hashing

/// A shared cache of stage results on another machine: objects by digest and stage records by
/// key, exactly the store's own content addressing. Every error thrown is a `RemoteError`.
///
/// Rules every implementation keeps:
/// - A record is uploaded only after every object it names is on the remote, and an object's
///   manifest only after every file it lists; so a reader never sees a record whose outputs are
///   missing, and "the record is there" means "the result is there".
/// - Downloads are verified against their digest before they enter the local store (through a
///   staging directory and `ingest`, so a half-download is never visible).
/// - Uploads of what the remote already has are skipped (one existence check first).
///
/// `ContentAddressedRemote` implements it over any `RemoteBlobs` transport (filesystem, HTTP; an S3
/// transport would be one more `RemoteBlobs`); the runner only sees this protocol.
public protocol Remote: Sendable {
    /// The remote's name for messages ("team (http://…)").
    var name: String { get }
    func hasRecord(_ key: Digest) throws -> Bool
    /// The record for `key`, checked to describe that key; nil when the remote does not have it.
    func getRecord(_ key: Digest) throws -> StageRecord?
    /// Uploads the local result for `key`: its objects first, then the record.
    func putRecord(_ key: Digest, from store: ArtifactStore, progress: TransferProgress) throws
    func hasObject(_ digest: Digest) throws -> Bool
    /// Downloads an object into `store` (verified; skipped when the store already has it intact).
    func getObject(_ digest: Digest, into store: ArtifactStore, progress: TransferProgress) throws
    /// `getObject` for several objects at once (their transfers overlap; one durability barrier).
    func getObjects(_ digests: [Digest], into store: ArtifactStore, progress: TransferProgress) throws
    /// Uploads a local object (its files, then its manifest); skipped when the remote has it.
    func putObject(_ digest: Digest, from store: ArtifactStore, progress: TransferProgress) throws
    func getRun(_ id: String) throws -> RemoteRun?
    func putRun(_ run: RemoteRun) throws
}

/// Runs `body` over `items` on up to `width` threads; rethrows the first error (in item order).
///
/// Real threads, not `DispatchQueue.concurrentPerform`: transfers block on the network and the
/// disk, and `concurrentPerform` runs no wider than the core count (and serially when nested).
public enum RemoteParallel {
    public static func forEach<T: Sendable>(_ items: [T], width: Int, _ body: @escaping @Sendable (T) throws -> Void) throws {
        guard items.count > 1, width > 1 else { for item in items { try body(item) }; return }
        let errors = ErrorSlots(count: items.count)
        let next = Counter()
        let work: @Sendable () -> Void = {
            while let index = next.take(below: items.count) {
                do { try body(items[index]) } catch { errors.set(index, error) }
            }
        }
        let helpers = min(width, items.count) - 1
        let finished = DispatchSemaphore(value: 0)
        for _ in 0..<helpers {
            let thread = Thread { work(); finished.signal() }
            thread.stackSize = 1 << 20
            thread.start()
        }
        work()
        for _ in 0..<helpers { finished.wait() }
        if let error = errors.first { throw error }
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func take(below limit: Int) -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard value < limit else { return nil }
            value += 1
            return value - 1
        }
    }

    private final class ErrorSlots: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [(any Error)?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ error: any Error) { lock.lock(); slots[index] = error; lock.unlock() }
        var first: (any Error)? { lock.lock(); defer { lock.unlock() }; return slots.compactMap { $0 }.first }
    }
}

/// At most `width` transfers at once through one remote (a counting semaphore), so nested
/// parallel pulls stay bounded.
public final class TransferSlots: Sendable {
    /// Measured on the local nginx (see `pipe bench remote`): 4 overlaps one file's fsync and
    /// hashing with others' network time; more adds nothing on 2 cores.
    public static let defaultWidth = 4
    public let width: Int
    private let semaphore: DispatchSemaphore

    public init(width: Int) {
        self.width = max(1, width)
        semaphore = DispatchSemaphore(value: self.width)
    }

    func run<T>(_ body: () throws -> T) rethrows -> T {
        semaphore.wait()
        defer { semaphore.signal() }
        return try body()
    }
}

/// Results filled in by parallel workers, read back by index.
final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [T?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: T) { lock.lock(); slots[index] = value; lock.unlock() }
    /// The value set at `index`; only called after every worker succeeded.
    func value(_ index: Int) -> T { lock.lock(); defer { lock.unlock() }; return slots[index]! }
}

extension Remote {
    /// Makes the result for `key` local: its record from the remote, then every object it names,
    /// then the record is committed to the store. Nil when the remote does not have the key.
    public func pull(key: Digest, into store: ArtifactStore, progress: TransferProgress) throws -> StageRecord? {
        if let local = store.record(forKey: key) {
            progress.update { $0.recordsSkipped += 1 }
            return local
        }
        guard let record = try getRecord(key) else { return nil }
        // All objects at once: their files' transfers overlap, and objects/ is made durable once.
        try getObjects(record.referencedObjects, into: store, progress: progress)
        do { try store.commit(record) } catch {
            throw RemoteError.local(remote: name, reason: "cannot commit the pulled record \(key.short): \(error)")
        }
        progress.update { $0.recordsMoved += 1 }
        return record
    }
}
