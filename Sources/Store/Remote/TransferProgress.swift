import Foundation

/// Counts of what a push or pull moved and skipped.
public struct TransferTally: Sendable, Equatable {
    public var bytesMoved: Int64 = 0
    public var bytesSkipped: Int64 = 0
    public var filesMoved = 0
    public var filesSkipped = 0
    public var objectsMoved = 0
    public var objectsSkipped = 0
    public var recordsMoved = 0
    public var recordsSkipped = 0
    /// Bytes the whole transfer is expected to cover (moved + skipped), when known up front.
    public var bytesPlanned: Int64 = 0

    public init() {}
}

/// A thread-safe tally that calls `onChange` after every file (for progress bars).
public final class TransferProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var current = TransferTally()
    private let onChange: @Sendable (TransferTally) -> Void

    public init(onChange: @escaping @Sendable (TransferTally) -> Void = { _ in }) {
        self.onChange = onChange
    }

    public var tally: TransferTally { lock.lock(); defer { lock.unlock() }; return current }

    func update(_ change: (inout TransferTally) -> Void) {
        lock.lock()
        change(&current)
        let snapshot = current
        lock.unlock()
        onChange(snapshot)
    }

    public func plan(bytes: Int64) { update { $0.bytesPlanned += bytes } }
}
