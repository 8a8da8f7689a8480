import Foundation

/// The channel through which the runner moves cores between running built-in stages: a small file
/// in the stage's staging directory holding the threads the stage may use now, as a decimal number
/// and a newline. The runner replaces it atomically (write a sibling, rename over), so a reader sees
/// the old number or the new one, never half of one; the stage reads it at its safe points.
public enum ThreadBudgetFile {
    /// The file's name in the staging directory.
    public static let name = "threads"

    /// Writes `threads` to `path` atomically.
    public static func write(_ threads: Int, to path: String) throws {
        let temporary = path + ".new"
        try Data("\(threads)\n".utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey:
                "cannot replace the thread budget file \(path): \(reason)"])
        }
    }

    /// The number in the file at `path`, or nil when it is missing or holds no positive number
    /// (the stage then keeps the threads it has).
    public static func read(_ path: String) -> Int? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        var value = 0
        for byte in bytes[0..<count] {
            if byte == UInt8(ascii: "\n") { break }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), value < 1_000_000 else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value > 0 ? value : nil
    }
}

/// Reads a thread budget file at most once per `interval` (a pool asks at every safe point, many
/// times a step; a stage need not react faster than the runner's 0.2 s event ticks).
public final class ThreadBudgetReader: @unchecked Sendable {
    public let path: String
    private let interval: Duration
    private let lock = NSLock()
    private var lastRead: ContinuousClock.Instant?
    private var value: Int?

    public init(path: String, interval: Duration = .milliseconds(100)) {
        self.path = path
        self.interval = interval
    }

    /// The budget as of the last read (re-read when `interval` has passed), nil when there is none.
    public func current() -> Int? {
        let now = ContinuousClock.now
        lock.lock(); defer { lock.unlock() }
        if let lastRead, now - lastRead < interval { return value }
        lastRead = now
        value = ThreadBudgetFile.read(path) ?? value
        return value
    }
}
