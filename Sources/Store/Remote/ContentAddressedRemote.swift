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

    public init(name: String, blobs: any RemoteBlobs) {
        self.name = name
        self.blobs = blobs
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
        if store.hasObject(digest) && store.objectDamage(digest) == nil {
            let size = (try? store.manifest(ofPath: store.objectPath(digest)).totalSize) ?? 0
            progress.update { $0.objectsSkipped += 1; $0.bytesSkipped += size }
            return
        }
        let manifest = try fetchManifest(digest)
        let staging: StagingDirectory
        do { staging = try store.makeStagingDirectory(label: "pull-" + digest.short) } catch {
            throw RemoteError.local(remote: name, reason: "cannot stage a download: \(error)")
        }
        defer { staging.remove() }
        let root = staging.path + "/object"
        do {
            try materialise(manifest, digest: digest, at: root, progress: progress)
            try store.ingestDownloaded(root, expected: manifest, digest: digest)
        } catch let error as RemoteError {
            throw error
        } catch let mismatch as DownloadMismatch {
            throw RemoteError.corrupt(remote: name, what: "object \(digest.short)", reason: mismatch.reason)
        } catch {
            throw RemoteError.local(remote: name, reason: "cannot add object \(digest.short) to the store: \(error)")
        }
        progress.update { $0.objectsMoved += 1 }
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

    /// Downloads every file of `manifest` into a new tree at `root` (directories first, symlinks last).
    private func materialise(_ manifest: ArtifactManifest, digest: Digest, at root: String, progress: TransferProgress) throws {
        func fetch(_ sha: Digest, size: Int64, executable: Bool, to local: String, label: String) throws {
            guard try blobs.download(RemoteLayout.content(sha), to: local, expectedSize: size) else {
                throw RemoteError.missing(remote: name, what: "\(label) of object \(digest.short) (content \(sha.short))",
                                          hint: "its manifest lists it, so the remote lost it after the push; push the run again")
            }
            if executable { chmod(local, 0o755) }
            progress.update { $0.filesMoved += 1; $0.bytesMoved += size }
        }
        switch manifest.root {
        case let .file(size, sha, executable):
            try fetch(sha, size: size, executable: executable, to: root, label: "the file")
        case let .tree(entries):
            guard mkdir(root, 0o755) == 0 else { throw POSIX.fail("mkdir", root) }
            var links: [(String, String)] = []
            for entry in entries {
                switch entry {
                case let .directory(path):
                    guard mkdir(root + "/" + path, 0o755) == 0 else { throw POSIX.fail("mkdir", root + "/" + path) }
                case let .file(path, size, sha, executable):
                    try fetch(sha, size: size, executable: executable, to: root + "/" + path, label: "file '\(path)'")
                case let .symlink(path, target):
                    links.append((path, target))
                }
            }
            for (path, target) in links where symlink(target, root + "/" + path) != 0 {
                throw POSIX.fail("symlink", root + "/" + path)
            }
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
