import Foundation
import Hashing

/// What `collectGarbage` found on a remote (and removed, unless it was a dry run).
public struct RemoteGarbageReport: Sendable, Equatable {
    /// Upload staging in tmp/ older than the age: left by killed or failed pushes.
    public var temporary: [RemoteFile] = []
    /// tmp/ entries younger than the age (uploads that may still be in flight): kept.
    public var youngTemporary = 0
    /// With `orphans`: manifests no record names, and content no kept manifest lists (older than the age).
    public var orphanObjects: [RemoteFile] = []
    public var orphanContents: [RemoteFile] = []
    public var removed = false

    public var bytes: Int64 { (temporary + orphanObjects + orphanContents).reduce(0) { $0 + $1.size } }
}

extension ContentAddressedRemote {
    /// Finds (and unless `dryRun` removes) remote-side garbage older than `age` seconds, measured on
    /// the remote's clock:
    /// - tmp/: partial or abandoned uploads of killed pushes. Always safe: every push writes its own
    ///   unique names there and moves a file out within moments of finishing it.
    /// - with `orphans`: objects/ manifests that no record in stages/ names, then cas/ files that no
    ///   remaining manifest lists (what a push killed between files, manifest and record leaves).
    ///   Readers never follow these, but a push running at the same time may be about to name one
    ///   it found already there, so collect orphans only while no push is running.
    /// Throws when the transport cannot list (the message says how to enable it).
    public func collectGarbage(olderThan age: Double, orphans: Bool, dryRun: Bool) throws -> RemoteGarbageReport {
        var report = RemoteGarbageReport()
        let temporary = try listing("tmp")
        for file in temporary.files {
            if temporary.now.timeIntervalSince(file.modified) > age { report.temporary.append(file) } else { report.youngTemporary += 1 }
        }
        if orphans {
            let records = try listing("stages")
            var named: Set<String> = []
            for file in records.files where file.name.hasSuffix(".json") {
                guard let key = Digest(hex: String(file.name.dropLast(5))) else { continue }
                // An unreadable record throws (its objects may be live): stop rather than guess.
                guard let record = try getRecord(key) else { continue }
                for object in record.referencedObjects { named.insert(object.hex) }
            }
            let objects = try listing("objects")
            var keptManifests: [Digest] = []
            for file in objects.files {
                guard let digest = Digest(hex: file.name) else { continue }
                if !named.contains(file.name) && objects.now.timeIntervalSince(file.modified) > age {
                    report.orphanObjects.append(file)
                } else {
                    keptManifests.append(digest)
                }
            }
            var listed: Set<String> = []
            for digest in keptManifests {
                let manifest = try fetchManifest(digest)
                for file in Self.files(of: manifest, at: "") { listed.insert(file.sha.hex) }
            }
            let contents = try listing("cas")
            for file in contents.files where !listed.contains(file.name) && contents.now.timeIntervalSince(file.modified) > age {
                report.orphanContents.append(file)
            }
        }
        guard !dryRun else { return report }
        // Manifests before the content they list: a crash midway never leaves a manifest without its files.
        for file in report.temporary { try blobs.remove("tmp/" + file.name) }
        for file in report.orphanObjects { try blobs.remove("objects/" + file.name) }
        for file in report.orphanContents { try blobs.remove("cas/" + file.name) }
        report.removed = true
        return report
    }

    private func listing(_ directory: String) throws -> RemoteListing {
        guard let listing = try blobs.list(directory) else {
            throw RemoteError.refused(remote: blobs.location, path: directory + "/",
                                      reason: "the server cannot list files (no WebDAV PROPFIND), so its garbage cannot be found; for nginx install libnginx-mod-http-dav-ext, load it and add `dav_ext_methods PROPFIND OPTIONS;` to the location (README \"Sharing a cache\"), or remove old files under \(directory)/ on the server by hand")
        }
        return listing
    }
}
