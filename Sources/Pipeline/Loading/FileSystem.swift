#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file-system calls loading needs, over libc (no Foundation: keeps `pipe` start-up small).
enum FileSystem {
    /// Why a file's bytes could not be read.
    struct ReadError: Error {
        /// "no such file", "is a FIFO, not a regular file", "is 40.0 MiB; …".
        let reason: String
    }

    /// The most a pipeline or declaration file may hold: a hand-written YAML file is kilobytes, so
    /// anything this large is the wrong file, not a pipeline.
    static let maxTextFileBytes = 16 << 20

    /// A regular file's bytes (at most `maxTextFileBytes`). A FIFO, device or directory is refused
    /// without being read: reading `/dev/zero` or a pipe nobody writes would never end.
    static func readBytes(_ path: String) throws(ReadError) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO must not wait for a writer (regular files ignore the flag).
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(reason: String(cString: strerror(errno)).lowercased()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ReadError(reason: String(cString: strerror(errno)).lowercased()) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw ReadError(reason: "is a directory, not a file")
        case S_IFIFO: throw ReadError(reason: "is a FIFO, not a regular file")
        case S_IFCHR, S_IFBLK: throw ReadError(reason: "is a device, not a regular file")
        case S_IFSOCK: throw ReadError(reason: "is a socket, not a regular file")
        default: throw ReadError(reason: "is not a regular file")
        }
        guard info.st_size <= maxTextFileBytes else {
            throw ReadError(reason: "is \(Int(info.st_size) >> 20) MiB; a pipeline or declaration file is at most \(maxTextFileBytes >> 20) MiB (is it the right file?)")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= maxTextFileBytes {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError(reason: String(cString: strerror(errno)).lowercased())
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
        throw ReadError(reason: "grew past \(maxTextFileBytes >> 20) MiB while being read")
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The canonical absolute path with symlinks resolved, or nil if it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether resolving the path runs into a symlink loop (ELOOP).
    static func isSymlinkLoop(_ path: String) -> Bool {
        guard let resolved = realpath(path, nil) else { return errno == ELOOP }
        free(resolved)
        return false
    }

    static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return "." }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    /// Entry names in a directory (no `.`/`..`), sorted by UTF-8 bytes; empty if unreadable.
    static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { $0.utf8Precedes($1) }
    }
}

/// Lexical path handling ('/'-separated, POSIX).
enum PathName {
    static func join(_ a: String, _ b: String) -> String {
        if b.hasPrefix("/") { return b }
        if a.isEmpty || a == "." { return b }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Removes `.` and empty components and folds `a/..`; keeps leading `..` of relative paths.
    static func normalise(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            if part == "..", absolute { continue }
            parts.append(part)
        }
        let body = parts.joined(separator: "/")
        return absolute ? "/" + body : (body.isEmpty ? "." : body)
    }

    static func absolute(_ path: String) -> String {
        normalise(path.hasPrefix("/") ? path : join(FileSystem.currentDirectory(), path))
    }

    /// `path` relative to `base` if it lies inside it (both absolute and normalised), else nil.
    static func relative(_ path: String, to base: String) -> String? {
        if path == base { return "." }
        let prefix = base == "/" ? "/" : base + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : nil
    }
}
