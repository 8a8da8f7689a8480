import Foundation
import Hashing
@testable import RemoteHTTP
import Testing
@testable import Store

/// `collectGarbage`: uploads killed pushes leave in the remote's tmp/, and (opt-in) manifests and
/// content nothing names, on a filesystem remote and on nginx (listing through WebDAV PROPFIND).
@Suite("Remote cache: garbage collection")
struct RemoteGarbageTests {
    /// Sets a file's modification time `seconds` into the past.
    static func age(_ path: String, seconds: Double) {
        let then = Date().timeIntervalSince1970 - seconds
        var times = [timeval(tv_sec: Int(then), tv_usec: 0), timeval(tv_sec: Int(then), tv_usec: 0)]
        _ = utimes(path, &times)
    }

    /// Leaves two old partial uploads and one young one in `root`/tmp, as killed pushes do.
    static func leaveTemporaryUploads(in root: String) throws -> (old: [String], young: String) {
        try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
        let old = ["hostA~123~0123456789ab", "hostB~456~ba9876543210"]
        for name in old {
            try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: root + "/tmp/" + name))
            age(root + "/tmp/" + name, seconds: 7200)
        }
        let young = "hostC~789~aaaaaaaaaaaa"
        try Data(repeating: 1, count: 10).write(to: URL(fileURLWithPath: root + "/tmp/" + young))
        return (old, young)
    }

    /// The shared scenario: a complete push, a push killed after its content files (orphan content),
    /// one killed after its manifest (orphan manifest), partial uploads in tmp/.
    static func check(_ remote: ContentAddressedRemote, remoteRoot root: String, directory: TemporaryDirectory) throws {
        let source = try ArtifactStore(root: try directory.sub("source"))
        let keys = try RemoteFixture.makeResults(in: source)
        for key in keys { try remote.putRecord(key, from: source, progress: TransferProgress()) }
        // A second store's results, pushed by a push that dies after 1 upload (its big file), and by
        // one that dies after 3 (the model's other new file, its manifest, the log's content).
        let other = try ArtifactStore(root: try directory.sub("other"))
        let otherKeys = try RemoteFixture.makeResults(in: other, bigBytes: 1000, seed: 9)
        for uploads in [1, 3] {
            let killed = ContentAddressedRemote(name: "team", blobs: FailingBlobs(remote.blobs, uploadsBeforeFailure: uploads,
                                                                                 failure: .unavailable(remote: "team", path: "x", reason: "killed")))
            #expect(throws: RemoteError.self) { try killed.putRecord(otherKeys[0], from: other, progress: TransferProgress()) }
        }
        #expect(RemoteFixture.consistencyProblems(remoteRoot: root) == [])
        let (old, young) = try leaveTemporaryUploads(in: root)

        // Nothing is old enough yet except the two aged tmp/ files.
        let dry = try remote.collectGarbage(olderThan: 3600, orphans: true, dryRun: true)
        #expect(dry.temporary.map(\.name) == old.sorted())
        #expect(dry.youngTemporary == 1 && dry.orphanObjects.isEmpty && dry.orphanContents.isEmpty && !dry.removed, "\(dry)")
        #expect(try POSIX.listDirectory(root + "/tmp").sorted() == (old + [young]).sorted(), "a dry run removes nothing")

        // Age everything the pushes wrote: the killed push's manifest and content become collectable.
        for directoryName in ["cas", "objects", "stages"] {
            for name in try POSIX.listDirectory(root + "/" + directoryName) { age(root + "/" + directoryName + "/" + name, seconds: 7200) }
        }
        let referenced = Set(try keys.flatMap { try #require(source.record(forKey: $0)).referencedObjects.map(\.hex) })
        let strayObjects = try POSIX.listDirectory(root + "/objects").filter { !referenced.contains($0) }.sorted()
        #expect(strayObjects.count == 1, "the push killed after its manifest left one manifest no record names: \(strayObjects)")
        let report = try remote.collectGarbage(olderThan: 3600, orphans: true, dryRun: false)
        #expect(report.removed)
        #expect(report.temporary.map(\.name) == old.sorted())
        #expect(report.orphanObjects.map(\.name) == strayObjects)
        #expect(report.orphanContents.count == 3, "the other model's two new files and its log (\(report.orphanContents.map(\.name)))")
        #expect(try POSIX.listDirectory(root + "/tmp") == [young])
        #expect(RemoteFixture.consistencyProblems(remoteRoot: root) == [])
        // Everything a record names is still there: a pull into an empty store works.
        let target = try ArtifactStore(root: try directory.sub("target"))
        for key in keys { #expect(try remote.pull(key: key, into: target, progress: TransferProgress()) != nil) }
        // Without orphans only tmp/ is looked at; a second collection finds nothing.
        let again = try remote.collectGarbage(olderThan: 3600, orphans: false, dryRun: false)
        #expect(again.temporary.isEmpty && again.youngTemporary == 1 && again.bytes == 0, "\(again)")
    }

    @Test func filesystemRemote() throws {
        let directory = try TemporaryDirectory()
        let root = try directory.sub("remote")
        try Self.check(ContentAddressedRemote(name: "nas", blobs: FilesystemBlobs(root: root)), remoteRoot: root, directory: directory)
    }

    @Test func nginxRemoteListsThroughPROPFIND() throws {
        let directory = try TemporaryDirectory()
        switch LocalNginx.start(in: try directory.sub("nginx")) {
        case .failure(let skip):
            print("skipped: \(skip)")
        case .success(let server):
            defer { server.stop() }
            let remote = ContentAddressedRemote(name: "team", blobs: try HTTPBlobs(url: server.url, authorization: nil))
            guard LocalNginx.davExtModule != nil else {
                // Without the dav_ext module nginx cannot list: the error says how to enable it.
                #expect(throws: RemoteError.self) { _ = try remote.collectGarbage(olderThan: 3600, orphans: false, dryRun: true) }
                print("skipped the listing part: nginx's dav_ext module is not installed")
                return
            }
            try Self.check(remote, remoteRoot: server.remoteRoot, directory: directory)
        }
    }

    @Test func aServerThatCannotListSaysHowToEnableIt() throws {
        let directory = try TemporaryDirectory()
        let server: FaultServer
        switch FaultServer.start(root: try directory.sub("served")) {
        case .failure(let skip): print("skipped: \(skip)"); return
        case .success(let started): server = started
        }
        let remote = ContentAddressedRemote(name: "team", blobs: try HTTPBlobs(url: server.url, authorization: nil, retries: 0))
        do {
            _ = try remote.collectGarbage(olderThan: 3600, orphans: false, dryRun: false)
            Issue.record("no error from a server without PROPFIND")
        } catch {
            #expect("\(error)".contains("the server cannot list files (no WebDAV PROPFIND)"), "\(error)")
            #expect("\(error)".contains("dav_ext_methods PROPFIND OPTIONS;"), "\(error)")
        }
    }

    @Test func webDAVListingsParse() throws {
        let xml = """
        <?xml version="1.0" encoding="utf-8" ?>
        <D:multistatus xmlns:D="DAV:">
        <D:response><D:href>/pipe/tmp/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype>
        <D:getlastmodified>Sun, 06 Dec 2026 10:00:00 GMT</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
        <D:response><D:href>/pipe/tmp/host%7E12%7Eab</D:href><D:propstat><D:prop><D:resourcetype/><D:getcontentlength>42</D:getcontentlength>
        <D:getlastmodified>Sun, 06 Dec 2026 09:00:00 GMT</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
        </D:multistatus>
        """
        let files = try #require(WebDAVListing.files(in: xml))
        #expect(files.count == 1)
        #expect(files.first?.name == "host~12~ab" && files.first?.size == 42)
        #expect(files.first?.modified == Date(timeIntervalSince1970: 1_796_547_600))
        #expect(WebDAVListing.files(in: "<html>not webdav</html>") == nil)
    }
}
