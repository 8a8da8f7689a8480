#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin, throwing wrappers over the POSIX calls the store needs. The store uses POSIX directly
/// (not FileManager) because it needs fsync, flock, inode/ctime nanoseconds and exact errno handling.
enum POSIX {
    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    static func fail(_ operation: String, _ path: String, _ code: Int32 = errno) -> StoreError {
        .io(operation: operation, path: path, reason: errorText(code))
    }

    /// `lstat` (or `stat` when following symlinks); nil when the path does not exist.
    static func status(_ path: String, followSymlinks: Bool = false) throws -> FileStatus? {
        var info = stat()
        let result = followSymlinks ? stat(path, &info) : lstat(path, &info)
        if result != 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw fail(followSymlinks ? "stat" : "lstat", path)
        }
        return FileStatus(info)
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Creates a directory and its missing parents (mode 0755); existing directories are fine.
    static func makeDirectories(_ path: String) throws {
        if mkdir(path, 0o755) == 0 { return }
        let code = errno
        if code == EEXIST {
            if let status = try Self.status(path, followSymlinks: true), status.isDirectory { return }
            throw StoreError.io(operation: "mkdir", path: path, reason: "exists and is not a directory")
        }
        guard code == ENOENT else { throw fail("mkdir", path, code) }
        let parent = parentDirectory(path)
        guard parent != path, !parent.isEmpty else { throw fail("mkdir", path, code) }
        try makeDirectories(parent)
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw fail("mkdir", path) }
    }

    static func parentDirectory(_ path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == path.utf8.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func lastComponent(_ path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(path[path.utf8.index(after: slash)...])
    }

    /// Flushes a file or directory to stable storage (directories: their entries, so a rename sticks).
    static func fsyncPath(_ path: String, directory: Bool) throws {
        let fd = open(path, directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY)
        guard fd >= 0 else { throw fail("open for fsync", path) }
        defer { close(fd) }
        // EINVAL: the filesystem does not support fsync on this kind of file; nothing to flush.
        if fsync(fd) != 0 && errno != EINVAL { throw fail("fsync", path) }
    }

    /// Names in a directory, without "." and "..". Names that are not valid UTF-8 are reported
    /// as an error because a manifest path must be an exact, portable string.
    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw fail("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw fail("readdir", path) }
                break
            }
            let name: String? = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) {
                    String(validatingCString: $0)
                }
            }
            guard let name else {
                throw StoreError.invalidArtifact(path: path, reason: "contains a file name that is not valid UTF-8; rename it")
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names
    }

    /// Removes a file or a whole tree, first making read-only directories writable (objects are
    /// stored read-only). Missing paths are fine.
    static func removeTree(_ path: String) throws {
        guard let status = try status(path) else { return }
        if status.isDirectory {
            if status.mode & 0o200 == 0 { chmod(path, mode_t(status.mode | 0o700)) }
            for name in try listDirectory(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw fail("rmdir", path) }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw fail("unlink", path)
        }
    }

    static func rename(_ from: String, _ to: String) -> Int32 {
        #if canImport(Glibc)
        return Glibc.rename(from, to) == 0 ? 0 : errno
        #else
        return Darwin.rename(from, to) == 0 ? 0 : errno
        #endif
    }

    static func readFile(_ path: String) throws -> [UInt8]? {
        try readFileAndStatus(path)?.bytes
    }

    /// The file's bytes and the status of the file they were read from (nil when it does not exist).
    static func readFileAndStatus(_ path: String) throws -> (bytes: [UInt8], status: FileStatus)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw fail("open", path)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fail("fstat", path) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 { if errno == EINTR { continue }; throw fail("read", path) }
            if n == 0 { break }
            filled += n
        }
        if filled < bytes.count { bytes.removeLast(bytes.count - filled) }
        return (bytes, FileStatus(info))
    }

    /// Writes `bytes` to a new file at `path` (must not exist), optionally fsyncing it. On failure the
    /// partial file is removed (a full disk must not leave empty files behind), and ENOSPC/EDQUOT is
    /// reported as a full disk naming the path.
    static func writeNewFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, sync: Bool) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw writeFailure("create", path, errno) }
        func abandon(_ operation: String) -> StoreError {
            let code = errno
            close(fd)
            unlink(path)
            return writeFailure(operation, path, code)
        }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 { if errno == EINTR { continue }; throw abandon("write") }
            written += n
        }
        if sync && fsync(fd) != 0 && errno != EINVAL { throw abandon("fsync") }
        if close(fd) != 0 && errno != EINTR {
            let code = errno
            unlink(path)
            throw writeFailure("close", path, code)
        }
    }

    static func writeFailure(_ operation: String, _ path: String, _ code: Int32) -> StoreError {
        code == ENOSPC || code == EDQUOT ? .noSpace(path: path) : fail(operation, path, code)
    }

    /// Replaces `path` (a regular file) with a private copy of its bytes, so it no longer shares an
    /// inode with a name outside the store (a hard link): sealing it read-only, or a later edit
    /// through the other name, must touch only one of them.
    static func replaceWithCopy(_ path: String, executable: Bool) throws {
        let source = open(path, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { throw fail("open", path) }
        defer { close(source) }
        let copy = parentDirectory(path) + "/.pipe-unlink~" + randomHex()
        let target = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, executable ? 0o755 : 0o644)
        guard target >= 0 else { throw fail("create", copy) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        do {
            while true {
                let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; throw fail("read", path) }
                if n == 0 { break }
                var written = 0
                while written < n {
                    let w = buffer.withUnsafeBytes { write(target, $0.baseAddress! + written, n - written) }
                    if w < 0 {
                        if errno == EINTR { continue }
                        throw writeFailure("write", copy, errno)
                    }
                    written += w
                }
            }
        } catch {
            close(target)
            unlink(copy)
            throw error
        }
        close(target)
        let code = rename(copy, path)
        guard code == 0 else { unlink(copy); throw fail("rename", path, code) }
    }

    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }()

    static func nowNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// Random hex for unique temporary names (not security sensitive).
    static func randomHex(_ count: Int = 8) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: (0..<count).map { _ in digits[Int(generator.next() % 16)] }, as: UTF8.self)
    }
}

/// The parts of `struct stat` the store uses.
struct FileStatus: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var mode: UInt32
    var modifiedNanoseconds: Int64
    var changedNanoseconds: Int64
    /// Hard links to the inode (`st_nlink`): more than one means another name shares the bytes.
    var linkCount: UInt64 = 1

    var fileType: UInt32 { mode & UInt32(S_IFMT) }
    var isDirectory: Bool { fileType == UInt32(S_IFDIR) }
    var isRegularFile: Bool { fileType == UInt32(S_IFREG) }
    var isSymlink: Bool { fileType == UInt32(S_IFLNK) }
    /// The owner's execute bit is the one the manifest records (group/other bits are ignored).
    var isExecutable: Bool { mode & 0o100 != 0 }
}

extension FileStatus {
    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        mode = UInt32(info.st_mode)
        linkCount = UInt64(info.st_nlink)
        #if canImport(Glibc)
        modifiedNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changedNanoseconds = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        #else
        modifiedNanoseconds = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
        changedNanoseconds = Int64(info.st_ctimespec.tv_sec) * 1_000_000_000 + Int64(info.st_ctimespec.tv_nsec)
        #endif
    }

}
