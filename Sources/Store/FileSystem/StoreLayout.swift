import Foundation

extension ArtifactStore {
    /// Directories that hold only what can be made again (staging, lock files, caches, shapes,
    /// which a missing one only makes a cache hit skip its cheap check): something else in their
    /// place is moved to quarantine/ and the directory made afresh.
    static let rebuildableDirectories = ["tmp", "locks", "statcache", "shapes"]
    /// Made when first needed (quarantined objects, checkpoints of unfinished stages, failed-stage
    /// logs), healed the same way.
    static let lazyDirectories = ["quarantine", "resume", "logs"]
    /// Directories that hold results: something else in their place is an error saying what to do.
    static let resultDirectories = ["objects", "stages"]

    /// Creates the store's directories. A file (or anything not a directory) where one belongs is
    /// damage: healed for `rebuildableDirectories` and `lazyDirectories`, refused with the fix for the root and the
    /// `resultDirectories` (moving results aside is the user's call).
    static func makeLayout(_ root: String, warning: (String) -> Void) throws {
        if let status = try POSIX.status(root, followSymlinks: true), !status.isDirectory {
            throw StoreError.io(operation: "open the store", path: root,
                                reason: "it is a file, not a store directory; pass --store DIR (or PIPE_STORE) to use another, or move the file away")
        }
        try POSIX.makeDirectories(root)
        for sub in resultDirectories + rebuildableDirectories + lazyDirectories {
            let path = root + "/" + sub
            if let status = try POSIX.status(path, followSymlinks: true), !status.isDirectory {
                guard !resultDirectories.contains(sub) else {
                    throw StoreError.io(operation: "open the store", path: path,
                                        reason: "it is a file, not the directory where the store keeps its "
                                            + (sub == "objects" ? "artifacts" : "stage records")
                                            + "; the store is damaged: restore it from a backup, or move the file away "
                                            + "(`mv \(path) \(path).damaged`) and run again to rebuild every stage")
                }
                let name = sub + "~" + String(POSIX.nowNanoseconds()) + "~" + POSIX.randomHex()
                var source = path
                if sub == "quarantine" {
                    // Out of the way first: the directory it goes into takes its name.
                    source = root + "/" + name
                    let code = POSIX.rename(path, source)
                    guard code == 0 else { throw POSIX.fail("move aside (it should be a directory)", path, code) }
                }
                try POSIX.makeDirectories(root + "/quarantine")
                let target = root + "/quarantine/" + name
                let code = POSIX.rename(source, target)
                guard code == 0 else { throw POSIX.fail("move aside (it should be a directory)", source, code) }
                warning("\(path) was a file, not a directory; moved it to \(target) (`pipe gc` removes it) and made the directory again")
            }
            if !lazyDirectories.contains(sub) { try POSIX.makeDirectories(path) }
        }
    }
}

extension ArtifactStore {
    /// Throws, naming the directory and the fix, unless this process can create files where a run
    /// or gc writes (tmp/, objects/, stages/, locks/, and the root for the registry): a read-only
    /// store otherwise fails stage by stage, or seems to run while nothing is recorded.
    public func checkWritable() throws {
        for directory in [root, temporaryDirectory, objectsDirectory, stagesDirectory, locksDirectory] {
            let probe = directory + "/.pipe-write-probe~\(getpid())~\(POSIX.randomHex())"
            let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd < 0 else { close(fd); unlink(probe); continue }
            let code = errno
            let fix = code == EROFS ? "the filesystem is mounted read-only; runs and gc write there: remount it read-write"
                : POSIX.errorText(code) + "; runs and gc write there: make the store writable again (`chmod -R u+w \(root)`, or fix its owner)"
            throw StoreError.io(operation: "write to the store", path: directory, reason: fix + " or pass --store DIR to use another")
        }
    }
}
