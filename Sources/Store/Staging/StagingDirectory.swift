import Foundation

/// A private directory under `tmp/` where a stage writes its outputs before they are ingested.
///
/// Named `tmp/<host>~<pid>~<random>~<label>`; next to it, `tmp/<same name>.owner` is a lock file the
/// owner holds (flock) for as long as this object lives. `ArtifactStore.init` removes staging whose
/// owner lock is free — its owner died, on this node or (on a shared filesystem) any other —
/// so a live process's staging, even one on another Slurm node, is never removed.
public final class StagingDirectory: @unchecked Sendable {
    public let path: String
    let ownerLockPath: String
    private var ownerDescriptor: Int32
    private let mutex = NSLock()

    init(path: String, ownerLockPath: String, ownerDescriptor: Int32) {
        self.path = path; self.ownerLockPath = ownerLockPath; self.ownerDescriptor = ownerDescriptor
    }

    /// Deletes the directory (whatever is left in it) and releases the owner lock. Idempotent.
    public func remove() {
        mutex.lock(); defer { mutex.unlock() }
        guard ownerDescriptor >= 0 else { return }
        try? POSIX.removeTree(path)
        unlink(ownerLockPath)
        close(ownerDescriptor)
        ownerDescriptor = -1
    }

    /// Releases ownership without deleting, so that a later `ArtifactStore` open cleans it up.
    deinit {
        if ownerDescriptor >= 0 { close(ownerDescriptor) }
    }
}

extension ArtifactStore {
    /// Creates a fresh staging directory under tmp/ (same filesystem as objects/, so ingest is a rename).
    /// - Parameter label: shown in the directory name for humans (e.g. the stage name).
    public func makeStagingDirectory(label: String = "stage") throws -> StagingDirectory {
        let safeLabel = String(label.unicodeScalars.map { scalar -> Character in
            let ok = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || scalar == "-" || scalar == "_" || scalar == "."
            return ok ? Character(scalar) : "_"
        }.prefix(60))
        let host = POSIX.hostName.replacingOccurrences(of: "~", with: "_")
        for _ in 0..<8 {
            let name = "\(host)~\(getpid())~\(POSIX.randomHex())~\(safeLabel)"
            let path = temporaryDirectory + "/" + name
            let ownerPath = path + ".owner"
            // Owner lock first, then the directory: a cleaner never sees an unowned young directory.
            let fd = open(ownerPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd < 0 {
                if errno == EEXIST { continue }
                throw POSIX.fail("create staging owner lock", ownerPath)
            }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                close(fd)
                continue
            }
            guard mkdir(path, 0o755) == 0 else {
                let code = errno
                unlink(ownerPath)
                close(fd)
                if code == EEXIST { continue }
                throw POSIX.fail("mkdir", path, code)
            }
            return StagingDirectory(path: path, ownerLockPath: ownerPath, ownerDescriptor: fd)
        }
        throw StoreError.io(operation: "create staging directory", path: temporaryDirectory, reason: "could not find a free name")
    }

    /// Entries in tmp/ without a live owner older than this are removed (covers a crash between
    /// creating a temporary file and renaming it, which takes milliseconds).
    static let orphanAgeNanoseconds: Int64 = 15 * 60 * 1_000_000_000

    /// Removes staging left by dead processes. Never touches a directory whose owner lock is held,
    /// nor this process's own staging.
    func cleanStaleStaging() {
        guard let names = try? POSIX.listDirectory(temporaryDirectory) else { return }
        let ownPrefix = POSIX.hostName.replacingOccurrences(of: "~", with: "_") + "~\(getpid())~"
        let now = POSIX.nowNanoseconds()
        let nameSet = Set(names)
        for name in names where !name.hasPrefix(ownPrefix) {
            let path = temporaryDirectory + "/" + name
            if name.hasSuffix(".owner") {
                let directory = String(name.dropLast(".owner".count))
                if !nameSet.contains(directory) { removeIfOwnerDead(directory: nil, ownerPath: path) }
                continue
            }
            if nameSet.contains(name + ".owner") {
                removeIfOwnerDead(directory: path, ownerPath: path + ".owner")
            } else if let status = try? POSIX.status(path),
                      now - max(status.modifiedNanoseconds, status.changedNanoseconds) > Self.orphanAgeNanoseconds {
                try? POSIX.removeTree(path)
            }
        }
    }

    private func removeIfOwnerDead(directory: String?, ownerPath: String) {
        // Belt and braces on this host: a live pid named in the entry keeps it even if its lock
        // looks free (e.g. a filesystem where flock is not honoured).
        let parts = POSIX.lastComponent(ownerPath).split(separator: "~", maxSplits: 2)
        if parts.count >= 2, String(parts[0]) == POSIX.hostName.replacingOccurrences(of: "~", with: "_"),
           let pid = Int32(parts[1]), pid > 0, kill(pid, 0) == 0 || errno == EPERM {
            return
        }
        let fd = open(ownerPath, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return }  // owner alive
        if let directory { try? POSIX.removeTree(directory) }
        unlink(ownerPath)
    }
}

/// Detects filesystems shared between machines (and so unsuitable for SQLite WAL), from the
/// filesystem type of the longest mount point containing the path in /proc/self/mounts (Glibc's
/// module map does not expose statfs). Off Linux: assumed local.
enum FilesystemKind {
    static let networkTypes: Set<String> = ["nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "ceph",
                                            "beegfs", "glusterfs", "9p", "afs", "ocfs2", "gfs2"]

    static func isNetwork(path: String) -> Bool {
        guard let type = filesystemType(path: path) else { return false }
        return networkTypes.contains(type) || type.hasPrefix("fuse.")
    }

    static func filesystemType(path: String) -> String? {
        guard let bytes = try? POSIX.readFile("/proc/self/mounts") else { return nil }
        var resolved = path
        if let real = realpath(path, nil) { resolved = String(cString: real); free(real) }
        var best: (length: Int, type: String)?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let mountPoint = unescape(String(fields[1]))
            let contains = mountPoint == "/" || resolved == mountPoint || resolved.hasPrefix(mountPoint + "/")
            if contains && mountPoint.count >= (best?.length ?? -1) { best = (mountPoint.count, String(fields[2])) }
        }
        return best?.type
    }

    /// /proc/mounts escapes space, tab, newline and backslash as octal (\040 ...).
    private static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var out: [UInt8] = []
        let bytes = Array(field.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\"), index + 3 < bytes.count,
               let value = UInt8(String(decoding: bytes[(index + 1)...(index + 3)], as: UTF8.self), radix: 8) {
                out.append(value); index += 4
            } else {
                out.append(bytes[index]); index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
