import Foundation

/// Appends `StageEvent`s to a JSON-lines file, one `write(2)` per line with `O_APPEND`, so lines
/// from one writer never interleave and a reader on the same (or a shared) filesystem can tail it.
public final class EventsFileWriter: @unchecked Sendable {
    private let fd: Int32
    private let encoder = JSONEncoder()
    private let lock = NSLock()

    public init(path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StageWireError("cannot open events file \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    public func append(_ event: StageEvent) {
        guard var data = try? encoder.encode(event) else { return }
        data.append(UInt8(ascii: "\n"))
        lock.lock(); defer { lock.unlock() }
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 { if errno == EINTR { continue }; return }
                offset += written
            }
        }
    }
}

/// Reads the events a stage appended since the last call. Incomplete trailing lines wait for the
/// next call; lines that are not valid events (e.g. a command echoing junk) are skipped.
public final class EventsFileReader {
    private let path: String
    private var offset: off_t = 0
    private var pending: [UInt8] = []
    private let decoder = JSONDecoder()

    public init(path: String) { self.path = path }

    public func readNew() -> [StageEvent] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if count <= 0 { break }
            offset += off_t(count)
            pending.append(contentsOf: buffer[0..<count])
        }
        guard let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        let complete = pending[..<lastNewline]
        var events: [StageEvent] = []
        for line in complete.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            if let event = try? decoder.decode(StageEvent.self, from: Data(line)) { events.append(event) }
        }
        pending.removeSubrange(...lastNewline)
        return events
    }
}

/// A stage-side problem with the wire files (e.g. the events file cannot be opened).
public struct StageWireError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
