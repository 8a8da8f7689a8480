import Dispatch
import Foundation

/// Turns SIGINT/SIGTERM (Ctrl-C, `kill`) into a callback instead of killing the process, so the
/// scheduler can stop its children, remove staging and record the run as interrupted.
/// Stage children get default dispositions back (see `ChildProcess.spawn`).
public final class InterruptSignals: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "pipe.signals")
    private let lock = NSLock()
    private var received: Int32?

    public init() {}

    /// Installs the handlers; `handler` runs once, on the first signal, off the main thread.
    public func install(_ handler: @escaping @Sendable (Int32) -> Void) {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            Glibc.signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                let first = self.received == nil
                if first { self.received = signalNumber }
                self.lock.unlock()
                if first { handler(signalNumber) }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal received, if any.
    public var signal: Int32? {
        lock.lock(); defer { lock.unlock() }
        return received
    }

    public func uninstall() {
        for source in sources { source.cancel() }
        sources.removeAll()
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] { Glibc.signal(signalNumber, SIG_DFL) }
    }
}
