import Foundation
import Hashing

extension ArtifactStore {
    /// `objects/<digest>`: the artifact itself (a read-only file or directory tree).
    public func objectPath(_ digest: Digest) -> String { objectsDirectory + "/" + digest.hex }

    public func hasObject(_ digest: Digest) -> Bool { POSIX.exists(objectPath(digest)) }

    /// Moves a finished artifact (file or directory) into `objects/<digest>` and returns its digest.
    ///
    /// The path is consumed: afterwards it no longer exists. Steps: replace hard-linked files by
    /// private copies, make every file read-only (keeping the owner's execute bit) and every subdirectory read-only, fsyncing files and directories →
    /// hash → rename into objects/ → fsync objects/. If the object already exists (identical
    /// content) the new copy is discarded. A path on another filesystem is first copied into a
    /// staging directory under tmp/, so the final step is always an atomic rename: a crash at any
    /// point leaves either no object or a complete one, never a partial object.
    @discardableResult
    public func ingest(_ path: String) throws -> Digest {
        try ingest(path, check: nil)
    }

    /// `ingest`, with `check` called on the sealed tree's manifest before anything moves (it may
    /// throw to refuse the artifact; the path is then left where it is).
    func ingest(_ path: String, check: ((ArtifactManifest) throws -> Void)?) throws -> Digest {
        let source = Self.absolute(path, base: FileManager.default.currentDirectoryPath)
        guard let status = try POSIX.status(source) else { throw StoreError.missingArtifact(path: source) }
        if status.isSymlink {
            throw StoreError.invalidArtifact(path: source, reason: "is a symlink; write the output itself, not a link to it")
        }
        // Seal first: it also makes every file readable (a stage may leave write-only files), and it
        // keeps the owner's execute bit, so the digest is the same as before sealing.
        try sealTree(source, isRoot: true)
        let manifest = try ArtifactScanner(statCache: nil).manifest(ofPath: source)
        try check?(manifest)
        let digest = manifest.digest
        let destination = objectPath(digest)
        if POSIX.exists(destination) {
            if let damage = objectDamage(digest) {
                // The stored copy was damaged after it was written: the fresh bytes replace it, and
                // what was built from the damaged ones is rebuilt too (DamagedInputResults.swift).
                try setAsideDamagedObject(digest, damage: damage, replacement: "rebuilt copy")
            } else {
                try POSIX.removeTree(source)
                return digest
            }
        }
        // Before the object appears: an object without its shape would skip the cheap check.
        try writeShape(manifest, digest: digest)
        var code = POSIX.rename(source, destination)
        if code == EXDEV {
            try ingestAcrossFilesystems(source: source, destination: destination)
            code = 0
        }
        if code == EEXIST || code == ENOTEMPTY || (code == EACCES && POSIX.exists(destination)) {
            // Lost a race with a process ingesting identical content: theirs is as good as ours.
            try POSIX.removeTree(source)
            return digest
        }
        guard code == 0 else { throw POSIX.fail("rename into objects/", destination, code) }
        if status.isDirectory { chmod(destination, 0o555) }
        try POSIX.fsyncPath(objectsDirectory, directory: true)
        return digest
    }

    /// Read-only permissions and fsync, bottom-up. The root directory stays writable until after the
    /// rename (moving a directory to a new parent needs write permission on it to update "..").
    /// `syncFiles: false` when every file was fsynced already (a verified download).
    func sealTree(_ path: String, isRoot: Bool, syncFiles: Bool = true) throws {
        guard let status = try POSIX.status(path) else { return }
        if status.isDirectory {
            for name in try POSIX.listDirectory(path) { try sealTree(path + "/" + name, isRoot: false, syncFiles: syncFiles) }
            try POSIX.fsyncPath(path, directory: true)
            if !isRoot && chmod(path, 0o555) != 0 { throw POSIX.fail("chmod", path) }
        } else if status.isRegularFile {
            // A hard link shares its inode with a name that may lie outside the store: sealing it
            // would make that file read-only, and writing through it would change the object.
            if status.linkCount > 1 { try POSIX.replaceWithCopy(path, executable: status.isExecutable) }
            if chmod(path, status.isExecutable ? 0o555 : 0o444) != 0 { throw POSIX.fail("chmod", path) }
            if syncFiles { try POSIX.fsyncPath(path, directory: false) }
        }
        // Symlinks: permissions are meaningless; their parent's fsync records them.
    }

    private func ingestAcrossFilesystems(source: String, destination: String) throws {
        let staging = try makeStagingDirectory(label: "ingest")
        defer { staging.remove() }
        let copy = staging.path + "/artifact"
        do {
            try FileManager.default.copyItem(atPath: source, toPath: copy)
        } catch {
            throw StoreError.io(operation: "copy into the store", path: source, reason: "\(error)")
        }
        try sealTree(copy, isRoot: true)
        let code = POSIX.rename(copy, destination)
        if code != 0 && !POSIX.exists(destination) { throw POSIX.fail("rename into objects/", destination, code) }
        try POSIX.removeTree(source)
    }
}
