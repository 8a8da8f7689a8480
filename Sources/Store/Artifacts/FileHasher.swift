#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hashing

/// Streams a file's bytes through SHA-256 (libcrypto, SHA-NI) in large chunks.
///
/// 4 MiB `read(2)` chunks reach the speed of in-memory hashing on this machine; the kernel is told the
/// access is sequential so it reads ahead. mmap was not faster (page-fault cost) and is unsafe if the
/// file shrinks underneath us (SIGBUS), so plain reads it is.
enum FileHasher {
    static let chunkSize = 4 << 20

    struct Result {
        var digest: Digest
        var size: Int64
        /// The file's status before hashing; the caller compares it with the status after hashing to
        /// detect a file that changed while it was being read.
        var statusBefore: FileStatus
    }

    static func hash(path: String) throws -> Result {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw StoreError.missingArtifact(path: path) }
            throw POSIX.fail("open", path)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw POSIX.fail("fstat", path) }
        let before = FileStatus(info)
        #if canImport(Glibc)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        #endif
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var total: Int64 = 0
        while true {
            let n = read(fd, buffer, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw POSIX.fail("read", path)
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(start: buffer, count: n))
            total += Int64(n)
        }
        return Result(digest: hasher.finalize(), size: total, statusBefore: before)
    }
}
