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
