import Foundation
import Hashing

/// `Remote` over any transport, with the layout of `RemoteLayout`:
///
///     cas/<sha256>          file contents, once each (identical files in different objects share one)
///     objects/<digest>      an object's manifest (`RemoteObjectManifest`): its entries and their sha256
///     stages/<key>.json     stage records, as in the store
///     runs/<id>.json        the stage keys of a pushed run (`RemoteRun`)
///     tmp/                  upload staging (transports that rename/MOVE into place)
///
/// Upload order is files → manifest → record, each file atomic, so every visible manifest has its
/// files and every visible record its objects. Two machines pushing the same key write identical
/// content under identical names (or equally valid records), so whoever renames last wins harmlessly.
public struct ContentAddressedRemote: Remote {
    public let name: String
    public let blobs: any RemoteBlobs
    /// Bounds the file transfers in flight through this remote, however many pulls run at once.
    public let transfers: TransferSlots

    public init(name: String, blobs: any RemoteBlobs, transferWidth: Int = TransferSlots.defaultWidth) {
        self.name = name
        self.blobs = blobs
        self.transfers = TransferSlots(width: transferWidth)
    }

    // MARK: Records

    public func hasRecord(_ key: Digest) throws -> Bool {
        try blobs.size(of: RemoteLayout.record(key)) != nil
    }

    public func getRecord(_ key: Digest) throws -> StageRecord? {
        guard let bytes = try blobs.read(RemoteLayout.record(key)) else { return nil }
        let record: StageRecord
        do { record = try StageRecord.decode(bytes) } catch {
            throw RemoteError.corrupt(remote: name, what: "stage record \(key.short)",
                                      reason: "it is not a valid record (\(ArtifactStore.describe(error)))")
        }
        guard record.format == StageRecord.currentFormat else {
            throw RemoteError.corrupt(remote: name, what: "stage record \(key.short)", reason: "unknown format '\(record.format)' (a newer pipe pushed it?)")
        }
        guard record.key == key else {
            throw RemoteError.corrupt(remote: name, what: "stage record \(key.short)", reason: "it describes key \(record.key.short)")
        }
        return record
    }

    public func putRecord(_ key: Digest, from store: ArtifactStore, progress: TransferProgress) throws {
        guard let record = store.record(forKey: key) else {
            throw RemoteError.local(remote: name, reason: "no intact result for key \(key.short) in the local store \(store.root) (run the pipeline first, or `pipe verify`)")
        }
        if try hasRecord(key) {
            // The record is only ever uploaded after its objects: they are all there.
            var bytes: Int64 = 0
            for object in record.referencedObjects { bytes += (try? store.manifest(ofPath: store.objectPath(object)).totalSize) ?? 0 }
            progress.update { $0.recordsSkipped += 1; $0.bytesSkipped += bytes; $0.objectsSkipped += record.referencedObjects.count }
            return
        }
        for object in record.referencedObjects { try putObject(object, from: store, progress: progress) }
        guard let bytes = try? POSIX.readFile(store.recordPath(forKey: key)) else {
            throw RemoteError.local(remote: name, reason: "cannot read \(store.recordPath(forKey: key))")
        }
        try blobs.upload(bytes: bytes, to: RemoteLayout.record(key))
        progress.update { $0.recordsMoved += 1 }
    }

    // MARK: Objects

    public func hasObject(_ digest: Digest) throws -> Bool {
        try blobs.size(of: RemoteLayout.object(digest)) != nil
    }

    public func putObject(_ digest: Digest, from store: ArtifactStore, progress: TransferProgress) throws {
        let path = store.objectPath(digest)
        let manifest: ArtifactManifest
        do { manifest = try store.manifest(ofPath: path) } catch {
            throw RemoteError.local(remote: name, reason: "cannot read local object \(digest.short): \(error)")
        }
        // Never spread damage: the bytes pushed must still have the digest they are pushed under.
        guard manifest.digest == digest else {
            throw RemoteError.local(remote: name, reason: "local object \(digest.short) is damaged (its content hashes to \(manifest.digest.short)); run `pipe verify`, then rebuild it")
        }
        if try hasObject(digest) {
            progress.update { $0.objectsSkipped += 1; $0.bytesSkipped += manifest.totalSize }
            return
        }
        var sent: Set<Digest> = []
        for file in Self.files(of: manifest, at: path) where sent.insert(file.sha).inserted {
            let target = RemoteLayout.content(file.sha)
            if try blobs.size(of: target) == file.size {
                progress.update { $0.filesSkipped += 1; $0.bytesSkipped += file.size }
                continue
            }
            try blobs.upload(file: file.local, size: file.size, to: target)
            progress.update { $0.filesMoved += 1; $0.bytesMoved += file.size }
        }
        try blobs.upload(bytes: RemoteObjectManifest(manifest).encoded, to: RemoteLayout.object(digest))
        progress.update { $0.objectsMoved += 1 }
    }

    public func getObject(_ digest: Digest, into store: ArtifactStore, progress: TransferProgress) throws {
        try getObjects([digest], into: store, progress: progress)
    }

    /// Downloads several objects: their files on up to `transfers.width` connections at once, each
    /// hashed as it streams into staging, checked against the manifest, fsynced; then each object is
    /// sealed and renamed into the store (no second read), and objects/ is fsynced once for all.
    public func getObjects(_ digests: [Digest], into store: ArtifactStore, progress: TransferProgress) throws {
        var wanted: [Digest] = []
        for digest in digests where !wanted.contains(digest) {
            if store.hasObject(digest) && store.objectDamage(digest) == nil {
                let size = (try? store.manifest(ofPath: store.objectPath(digest)).totalSize) ?? 0
                progress.update { $0.objectsSkipped += 1; $0.bytesSkipped += size }
            } else {
                wanted.append(digest)
            }
        }
        guard !wanted.isEmpty else { return }
        let objects = wanted
        let manifests = ResultSlots<ArtifactManifest>(count: wanted.count)
        try RemoteParallel.forEach(Array(wanted.indices), width: transfers.width) { index in
            manifests.set(index, try fetchManifest(objects[index]))
        }
        var stagings: [StagingDirectory] = []
        defer { for staging in stagings { staging.remove() } }
        var downloads: [FileDownload] = []
        var roots: [String] = []
        for (index, digest) in wanted.enumerated() {
            let staging: StagingDirectory
            do { staging = try store.makeStagingDirectory(label: "pull-" + digest.short) } catch {
                throw RemoteError.local(remote: name, reason: "cannot stage a download: \(error)")
            }
            stagings.append(staging)
            let root = staging.path + "/object"
            roots.append(root)
            do { downloads += try prepare(manifests.value(index), digest: digest, at: root) } catch {
                throw RemoteError.local(remote: name, reason: "cannot stage object \(digest.short): \(error)")
            }
        }
        try RemoteParallel.forEach(downloads, width: transfers.width) { file in
            try transfers.run { try fetch(file) }
            progress.update { $0.filesMoved += 1; $0.bytesMoved += file.size }
        }
        for (index, digest) in wanted.enumerated() {
            let manifest = manifests.value(index)
            do {
                try Self.makeSymlinks(manifest, at: roots[index])
                try store.ingestVerified(roots[index], manifest: manifest, digest: digest, syncObjectsDirectory: false)
            } catch {
                throw RemoteError.local(remote: name, reason: "cannot add object \(digest.short) to the store: \(error)")
            }
            progress.update { $0.objectsMoved += 1 }
        }
        do { try store.syncObjectsDirectory() } catch {
            throw RemoteError.local(remote: name, reason: "cannot make the pulled objects durable: \(error)")
        }
    }

    /// The object's manifest, trusted only if it hashes to `digest`.
    func fetchManifest(_ digest: Digest) throws -> ArtifactManifest {
        guard let bytes = try blobs.read(RemoteLayout.object(digest)) else {
            throw RemoteError.missing(remote: name, what: "object \(digest.short)",
                                      hint: "a record names it, so the remote lost it after the push; push the run again from a store that has it")
        }
        switch RemoteObjectManifest.decode(bytes) {
        case .failure(let problem):
            throw RemoteError.corrupt(remote: name, what: "object \(digest.short)", reason: problem.reason)
        case .success(let manifest):
            guard manifest.digest == digest else {
                throw RemoteError.corrupt(remote: name, what: "object \(digest.short)", reason: "its manifest describes object \(manifest.digest.short)")
            }
            return manifest
        }
    }

    /// One file of an object to download into staging.
    struct FileDownload: Sendable {
        var object: Digest
        var sha: Digest
        var size: Int64
        var executable: Bool
        var local: String
        /// "its content" (a single-file object) or "file 'path'", for messages.
        var label: String
    }

    /// Creates the directories of `manifest` under `root` and lists its files to download.
    private func prepare(_ manifest: ArtifactManifest, digest: Digest, at root: String) throws -> [FileDownload] {
        switch manifest.root {
        case let .file(size, sha, executable):
            return [FileDownload(object: digest, sha: sha, size: size, executable: executable, local: root, label: "its content")]
        case let .tree(entries):
            guard mkdir(root, 0o755) == 0 else { throw POSIX.fail("mkdir", root) }
            var files: [FileDownload] = []
            for entry in entries {
                switch entry {
                case let .directory(path):
                    guard mkdir(root + "/" + path, 0o755) == 0 else { throw POSIX.fail("mkdir", root + "/" + path) }
                case let .file(path, size, sha, executable):
                    files.append(FileDownload(object: digest, sha: sha, size: size, executable: executable, local: root + "/" + path, label: "file '\(path)'"))
                case .symlink:
                    break
                }
            }
            return files
        }
    }

    /// Downloads one file, refuses it unless its streamed hash and size are the manifest's, and
    /// makes it durable (its fsync overlaps the other transfers).
    private func fetch(_ file: FileDownload) throws {
        guard let got = try blobs.download(RemoteLayout.content(file.sha), to: file.local, expectedSize: file.size) else {
            throw RemoteError.missing(remote: name, what: "\(file.label == "its content" ? "the file" : file.label) of object \(file.object.short) (content \(file.sha.short))",
                                      hint: "its manifest lists it, so the remote lost it after the push; push the run again")
        }
        guard got.size == file.size, got.sha256 == file.sha else {
            unlink(file.local)
            throw RemoteError.corrupt(remote: name, what: "object \(file.object.short)",
                                      reason: "\(file.label) arrived as \(got.size) bytes hashing to \(got.sha256.short), expected \(file.size) bytes hashing to \(file.sha.short)")
        }
        do {
            if file.executable && chmod(file.local, 0o755) != 0 { throw POSIX.fail("chmod", file.local) }
            try POSIX.fsyncPath(file.local, directory: false)
        } catch {
            throw RemoteError.local(remote: name, reason: "cannot store \(file.label) of object \(file.object.short): \(error)")
        }
    }

    /// Symlinks last: nothing is ever written through one.
    private static func makeSymlinks(_ manifest: ArtifactManifest, at root: String) throws {
        guard case let .tree(entries) = manifest.root else { return }
        for case let .symlink(path, target) in entries where symlink(target, root + "/" + path) != 0 {
            throw POSIX.fail("symlink", root + "/" + path)
        }
    }

    /// Every regular file of a local object: where it is, its size and content digest.
    static func files(of manifest: ArtifactManifest, at path: String) -> [(local: String, size: Int64, sha: Digest)] {
        switch manifest.root {
        case let .file(size, sha, _): return [(path, size, sha)]
        case let .tree(entries):
            return entries.compactMap { entry in
                if case let .file(relative, size, sha, _) = entry { return (path + "/" + relative, size, sha) }
                return nil
            }
        }
    }

    // MARK: Runs

    public func getRun(_ id: String) throws -> RemoteRun? {
        guard let bytes = try blobs.read(RemoteLayout.run(id)) else { return nil }
        do {
            let run = try JSONDecoder().decode(RemoteRun.self, from: Data(bytes))
            guard run.format == RemoteRun.currentFormat else {
                throw RemoteError.corrupt(remote: name, what: "run \(id)", reason: "unknown format '\(run.format)'")
            }
            return run
        } catch let error as RemoteError { throw error } catch {
            throw RemoteError.corrupt(remote: name, what: "run \(id)", reason: ArtifactStore.describe(error))
        }
    }

    public func putRun(_ run: RemoteRun) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let bytes = try? encoder.encode(run) else { throw RemoteError.local(remote: name, reason: "cannot encode run \(run.run)") }
        try blobs.upload(bytes: [UInt8](bytes), to: RemoteLayout.run(run.run))
    }
}
