#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hashing

extension ArtifactStore {
    /// Moves a downloaded tree into `objects/<digest>` without hashing it again: the caller built it
    /// from `manifest` (which hashes to `digest`), and every file in it was hashed while it was
    /// written, matched the manifest, and was fsynced. Sealing here is permissions and one fsync
    /// per directory; the object appears by one rename, so a crash leaves no object or a complete one.
    ///
    /// With `syncObjectsDirectory: false` the rename's durability is left to one later
    /// `syncObjectsDirectory()` for a whole batch (before any record naming these objects is committed).
    func ingestVerified(_ source: String, manifest: ArtifactManifest, digest: Digest, syncObjectsDirectory: Bool) throws {
        guard let status = try POSIX.status(source) else { throw StoreError.missingArtifact(path: source) }
        try sealTree(source, isRoot: true, syncFiles: false)
        let destination = objectPath(digest)
        if POSIX.exists(destination) {
            if let damage = objectDamage(digest) {
                try setAsideDamagedObject(digest, damage: damage, replacement: "downloaded copy")
            } else {
                try POSIX.removeTree(source)
                return
            }
        }
        try writeShape(manifest, digest: digest)
        let code = POSIX.rename(source, destination)
        if code == EEXIST || code == ENOTEMPTY || (code == EACCES && POSIX.exists(destination)) {
            // Lost a race with a process adding identical content: theirs is as good as ours.
            try POSIX.removeTree(source)
            return
        }
        guard code == 0 else { throw POSIX.fail("rename into objects/", destination, code) }
        if status.isDirectory { chmod(destination, 0o555) }
        if syncObjectsDirectory { try self.syncObjectsDirectory() }
    }

    /// Makes renames into objects/ durable (one directory fsync for any number of them).
    public func syncObjectsDirectory() throws {
        try POSIX.fsyncPath(objectsDirectory, directory: true)
    }
}
