#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension POSIX {
    /// Copies a regular file into a new file (must not exist), optionally fsyncing it; returns the
    /// bytes copied. A partial copy is removed on failure; a full disk is `StoreError.noSpace`.
    static func copyFile(from source: String, to destination: String, mode: mode_t = 0o644, sync: Bool) throws -> Int64 {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw fail("open", source) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard output >= 0 else { throw writeFailure("create", destination, errno) }
        let chunk = 4 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        func abandon(_ error: StoreError) -> StoreError { close(output); unlink(destination); return error }
        while true {
            let n = read(input, buffer, chunk)
            if n < 0 { if errno == EINTR { continue }; throw abandon(fail("read", source)) }
            if n == 0 { break }
            var written = 0
            while written < n {
                let w = write(output, buffer + written, n - written)
                if w < 0 { if errno == EINTR { continue }; throw abandon(writeFailure("write", destination, errno)) }
                written += w
            }
            total += Int64(n)
        }
        if sync && fsync(output) != 0 && errno != EINVAL { throw abandon(writeFailure("fsync", destination, errno)) }
        if close(output) != 0 && errno != EINTR { let code = errno; unlink(destination); throw writeFailure("close", destination, code) }
        return total
    }

    /// Copies a regular file into a new file (must not exist, not fsynced), hashing the bytes as they
    /// pass: the copy's size and SHA-256 without reading it back. A partial copy is removed on failure.
    static func copyFileHashing(from source: String, to destination: String) throws -> DownloadedFile {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw fail("open", source) }
        defer { close(input) }
        let writer: HashingFileWriter
        do { writer = try HashingFileWriter(path: destination) } catch let failure as HashingFileWriter.Failure {
            throw writeFailure(failure.operation, destination, failure.code)
        }
        let chunk = 4 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        do {
            while true {
                let n = read(input, buffer, chunk)
                if n < 0 { if errno == EINTR { continue }; throw fail("read", source) }
                if n == 0 { break }
                try writer.write(buffer, count: n)
            }
            return try writer.finish(sync: false)
        } catch let failure as HashingFileWriter.Failure {
            unlink(destination)
            throw writeFailure(failure.operation, destination, failure.code)
        } catch {
            unlink(destination)
            throw error
        }
    }
}
