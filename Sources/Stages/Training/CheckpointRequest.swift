import Dispatch
import Foundation
import StageWire

/// A request to checkpoint now, off the `checkpoint_every` grid: SIGUSR1 from a Slurm batch script
/// before its job's time limit. The signal only sets a flag; the training loop takes it at the end
/// of its current step, writes a checkpoint, then writes the marker file the batch script waits for
/// (named by `CheckpointMarker.environmentVariable`) and trains on until the requeue stops it.
public final class CheckpointRequest: @unchecked Sendable {
    /// The process's request (what SIGUSR1 sets), with the marker path from the environment.
    public static let shared = CheckpointRequest(
        markerPath: ProcessInfo.processInfo.environment[CheckpointMarker.environmentVariable].flatMap { $0.isEmpty ? nil : $0 })

    /// Where to write the marker after a requested checkpoint; nil: nobody waits for one.
    public let markerPath: String?
    private let lock = NSLock()
    private var pending = false
    private var source: DispatchSourceSignal?
    private let queue = DispatchQueue(label: "pipe.checkpoint-request")

    public init(markerPath: String?) {
        self.markerPath = markerPath
    }

    /// Routes SIGUSR1 to `request()` instead of its default action (which ends the process): the
    /// batch script may signal a stage that has no training loop, or one that has not reached it yet.
    public func installSignalHandler() {
        lock.lock(); defer { lock.unlock() }
        guard source == nil else { return }
        signal(SIGUSR1, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: queue)
        source.setEventHandler { [weak self] in self?.request() }
        source.resume()
        self.source = source
    }

    public func request() {
        lock.lock(); pending = true; lock.unlock()
    }

    /// Whether a checkpoint was requested since the last call (and clears the request).
    public func take() -> Bool {
        lock.lock(); defer { lock.unlock() }
        let was = pending
        pending = false
        return was
    }

    /// Tells the waiting batch script that the checkpoint for `step` is on disk (written atomically:
    /// the script acts as soon as the name appears).
    public func acknowledge(step: Int) throws {
        guard let markerPath else { return }
        let temporary = markerPath + ".partial"
        try Data("step \(step)\n".utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, markerPath) == 0 else {
            throw StageError.failed("cannot write the checkpoint marker \(markerPath): \(String(cString: strerror(errno)))")
        }
    }
}
