#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hashing

/// What a download wrote: its byte count and the SHA-256 of those bytes, computed as they streamed in.
public struct DownloadedFile: Sendable, Equatable {
    public var size: Int64
    public var sha256: Digest
    public init(size: Int64, sha256: Digest) { self.size = size; self.sha256 = sha256 }
}

/// A new file that hashes every byte written to it, so a download is verified without reading it
/// back. Writeback of each 8 MiB is started as it is written (`sync_file_range`), so the fsync that
/// makes the file durable finds most of it on disk already.
public final class HashingFileWriter {
    public let path: String
    private var descriptor: Int32
    private var hasher = SHA256()
    private var written: Int64 = 0
    private var flushedUpTo: Int64 = 0

    /// Creates `path` (it must not exist).
    public init(path: String, mode: mode_t = 0o644) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw Failure(path: path, operation: "create", code: errno) }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Writes and hashes all `count` bytes at `base`.
    public func write(_ base: UnsafeRawPointer, count: Int) throws {
        var done = 0
        while done < count {
            let n = systemWrite(descriptor, base + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(path: path, operation: "write", code: errno)
            }
            done += n
        }
        hasher.update(UnsafeRawBufferPointer(start: base, count: count))
        written += Int64(count)
        if written - flushedUpTo >= WriteBack.interval {
            WriteBack.start(descriptor, offset: flushedUpTo, count: written - flushedUpTo)
            flushedUpTo = written
        }
    }

    /// Closes the file (fsyncing it first when `sync`) and returns its size and digest.
    public func finish(sync: Bool) throws -> DownloadedFile {
        let fd = descriptor
        descriptor = -1
        if sync && fsync(fd) != 0 && errno != EINVAL {
            let code = errno
            close(fd)
            throw Failure(path: path, operation: "fsync", code: code)
        }
        if close(fd) != 0 && errno != EINTR { throw Failure(path: path, operation: "close", code: errno) }
        var finished = SHA256()
        swap(&finished, &hasher)
        let digest = finished.finalize()
        return DownloadedFile(size: written, sha256: digest)
    }

    /// A local write failure (not worth retrying); `noSpace` when the disk is full.
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var operation: String
        public var code: Int32
        public var noSpace: Bool { code == ENOSPC || code == EDQUOT }
        public var description: String { "cannot \(operation) \(path): \(String(cString: strerror(code)))" }
    }
}

/// `write(2)` (the name `write` is taken inside `HashingFileWriter`).
private func systemWrite(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Int { write(fd, base, count) }

/// Starts writeback of bytes just written (`sync_file_range(…, SYNC_FILE_RANGE_WRITE)`, looked up at
/// run time: Swift's Glibc module does not export it), so the disk works while the network does.
/// A no-op where missing.
public enum WriteBack {
    public static let interval: Int64 = 8 << 20
    private typealias Function = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    private static let function: Function? = {
        #if os(Linux)
        guard let symbol = dlsym(nil, "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
        #else
        return nil
        #endif
    }()
    /// SYNC_FILE_RANGE_WRITE: start writeback, do not wait for it.
    public static func start(_ fd: Int32, offset: Int64, count: Int64) { _ = function?(fd, offset, count, 2) }
}
