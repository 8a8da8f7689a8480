import Foundation
import Hashing
import Testing
@testable import Store

/// A transport that fails after a number of uploads (a push killed midway, a disk filling up).
final class FailingBlobs: RemoteBlobs, @unchecked Sendable {
    let inner: any RemoteBlobs
    let failure: RemoteError
    private let lock = NSLock()
    private var uploadsLeft: Int
    var location: String { inner.location }

    init(_ inner: any RemoteBlobs, uploadsBeforeFailure: Int, failure: RemoteError) {
        self.inner = inner; self.uploadsLeft = uploadsBeforeFailure; self.failure = failure
    }

    private func spend() throws {
        lock.lock(); defer { lock.unlock() }
        if uploadsLeft == 0 { throw failure }
        uploadsLeft -= 1
    }

    func size(of path: String) throws -> Int64? { try inner.size(of: path) }
    func read(_ path: String) throws -> [UInt8]? { try inner.read(path) }
    func download(_ path: String, to localFile: String, expectedSize: Int64?) throws -> DownloadedFile? {
        try inner.download(path, to: localFile, expectedSize: expectedSize)
    }
    func upload(file localFile: String, size: Int64, to path: String) throws { try spend(); try inner.upload(file: localFile, size: size, to: path) }
    func upload(bytes: [UInt8], to path: String) throws { try spend(); try inner.upload(bytes: bytes, to: path) }
}

/// Push to a remote, pull into an empty store, byte for byte; what the remote must never show.
/// Shared by the filesystem and nginx suites.
enum RoundTrip {
    static func check(_ remote: any Remote, remoteRoot: String, directory: TemporaryDirectory) throws {
        let source = try ArtifactStore(root: try directory.sub("a"))
        let keys = try RemoteFixture.makeResults(in: source)
        let pushed = TransferProgress()
        for key in keys { try remote.putRecord(key, from: source, progress: pushed) }
        #expect(pushed.tally.recordsMoved == 2)
        // The tokenizer is in both objects: stored and moved once.
        let model = try #require(source.record(forKey: keys[0])?.outputs["out"])
        let modelSize = try source.manifest(ofPath: source.objectPath(model)).totalSize
        #expect(pushed.tally.filesSkipped == 1, "\(pushed.tally)")
        #expect(pushed.tally.bytesSkipped == Int64(RemoteFixture.tokenizer.count), "\(pushed.tally)")
        #expect(pushed.tally.bytesMoved == modelSize + Int64("log of sft 1\n".utf8.count + "log of data 1\n".utf8.count))
        #expect(RemoteFixture.consistencyProblems(remoteRoot: remoteRoot) == [])

        // A second push moves nothing.
        let again = TransferProgress()
        for key in keys { try remote.putRecord(key, from: source, progress: again) }
        #expect(again.tally.bytesMoved == 0 && again.tally.recordsSkipped == 2, "\(again.tally)")

        let target = try ArtifactStore(root: try directory.sub("b"))
        let pulled = TransferProgress()
        for key in keys {
            let record = try #require(try remote.pull(key: key, into: target, progress: pulled))
            #expect(record == source.record(forKey: key))
            #expect(try POSIX.readFile(target.recordPath(forKey: key)) == POSIX.readFile(source.recordPath(forKey: key)))
            for object in record.referencedObjects {
                #expect(try RemoteFixture.contents(target.objectPath(object)) == RemoteFixture.contents(source.objectPath(object)))
                #expect(target.objectCorruption(object) == nil)
            }
        }
        #expect(pulled.tally.recordsMoved == 2)
        // Nothing left half-done in the target's staging.
        #expect(try POSIX.listDirectory(target.temporaryDirectory).filter { !$0.hasPrefix("shape~") } == [])
        // Pulling again finds everything local.
        let twice = TransferProgress()
        for key in keys { _ = try remote.pull(key: key, into: target, progress: twice) }
        #expect(twice.tally.bytesMoved == 0 && twice.tally.recordsSkipped == 2)
    }

    /// Flips one byte of the model's weights on the remote: the pull is refused and nothing enters the store.
    static func checkFlippedByte(_ remote: any Remote, remoteRoot: String, directory: TemporaryDirectory) throws {
        let source = try ArtifactStore(root: try directory.sub("flip-a"))
        let keys = try RemoteFixture.makeResults(in: source)
        for key in keys { try remote.putRecord(key, from: source, progress: TransferProgress()) }
        let model = try #require(source.record(forKey: keys[0])?.outputs["out"])
        guard case .tree(let entries) = try source.manifest(ofPath: source.objectPath(model)).root,
              case .file(_, _, let sha, _)? = entries.first(where: { $0.path == "weights/w.bin" }) else {
            throw TestFailure("fixture has no weights/w.bin")
        }
        let damaged = remoteRoot + "/cas/" + sha.hex
        var bytes = try #require(try POSIX.readFile(damaged))
        bytes[100] ^= 0x01
        chmod(damaged, 0o644)
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))

        let target = try ArtifactStore(root: try directory.sub("flip-b"))
        do {
            _ = try remote.pull(key: keys[0], into: target, progress: TransferProgress())
            Issue.record("a flipped byte was accepted")
        } catch let error as RemoteError {
            guard case .corrupt = error else { Issue.record("expected corrupt, got \(error)"); return }
            #expect("\(error)".contains("refused object \(model.short)"), "\(error)")
            #expect("\(error)".contains("file 'weights/w.bin' arrived as 4096 bytes hashing to"), "\(error)")
        }
        #expect(target.record(forKey: keys[0]) == nil)
        #expect(!target.hasObject(model))
        #expect(try POSIX.listDirectory(target.objectsDirectory).count <= 1, "only the log may have arrived")
        #expect(try POSIX.listDirectory(target.temporaryDirectory).filter { !$0.hasPrefix("shape~") } == [])
    }
}

@Suite("Remote cache: filesystem remote")
struct FilesystemRemoteTests {
    @Test func pushThenPullIntoAnEmptyStoreIsByteIdentical() throws {
        let directory = try TemporaryDirectory()
        let root = try directory.sub("remote")
        try RoundTrip.check(ContentAddressedRemote(name: "nas", blobs: FilesystemBlobs(root: root)), remoteRoot: root, directory: directory)
        #expect(try POSIX.listDirectory(root + "/tmp") == [], "uploads are renamed out of tmp/")
    }

    @Test func aFlippedByteOnTheRemoteIsRefused() throws {
        let directory = try TemporaryDirectory()
        let root = try directory.sub("remote")
        try RoundTrip.checkFlippedByte(ContentAddressedRemote(name: "nas", blobs: FilesystemBlobs(root: root)), remoteRoot: root, directory: directory)
    }

    /// A pull that replaces a damaged local object follows the run's rule: results built from the
    /// damaged copy are dropped as it is replaced, so a later verify has nothing to remove.
    @Test func aPullThatReplacesADamagedObjectDropsWhatWasBuiltFromIt() throws {
        let directory = try TemporaryDirectory()
        let root = try directory.sub("remote")
        let remote = ContentAddressedRemote(name: "nas", blobs: FilesystemBlobs(root: root))
        let source = try ArtifactStore(root: try directory.sub("a"))
        let keys = try RemoteFixture.makeResults(in: source)
        try remote.putRecord(keys[1], from: source, progress: TransferProgress())

        let target = try ArtifactStore(root: try directory.sub("b"))
        _ = try RemoteFixture.makeResults(in: target)
        let data = try #require(target.record(forKey: keys[1])?.outputs["out"])
        let built = Date()
        let user = StageRecord(key: SHA256.hash("reads data"), stage: "user", keyMaterial: .object(["input": .string(data.hex)]),
                               outputs: [:], startedAt: built, finishedAt: built)
        try target.commit(user)
        chmod(target.objectPath(data), 0o644)
        truncate(target.objectPath(data), 3)

        #expect(try remote.pull(key: keys[1], into: target, progress: TransferProgress()) != nil)
        #expect(target.objectCorruption(data) == nil, "the downloaded copy replaced the damaged one")
        #expect(target.record(forKey: user.key) == nil, "built from the damaged copy: dropped")
        let report = try target.verify()
        #expect(report.isClean, "\(report)")
    }

    @Test func aTruncatedFileOnTheRemoteIsRefused() throws {
        let directory = try TemporaryDirectory()
        let root = try directory.sub("remote")
        let remote = ContentAddressedRemote(name: "nas", blobs: FilesystemBlobs(root: root))
        let source = try ArtifactStore(root: try directory.sub("a"))
        let keys = try RemoteFixture.makeResults(in: source)
        try remote.putRecord(keys[1], from: source, progress: TransferProgress())
        let data = try #require(source.record(forKey: keys[1])?.outputs["out"])
        guard case .file(_, let sha, _) = try source.manifest(ofPath: source.objectPath(data)).root else { throw TestFailure("not a file") }
        truncate(root + "/cas/" + sha.hex, 5)
        let target = try ArtifactStore(root: try directory.sub("b"))
        #expect(throws: RemoteError.self) { _ = try remote.pull(key: keys[1], into: target, progress: TransferProgress()) }
        do { _ = try remote.pull(key: keys[1], into: target, progress: TransferProgress()) } catch {
            #expect("\(error)".contains("its content arrived as 5 bytes"), "\(error)")
        }
        #expect(target.record(forKey: keys[1]) == nil && !target.hasObject(data))
    }

    @Test func aManifestWithAnEscapingPathIsRefusedBeforeAnythingIsWritten() throws {
        let directory = try TemporaryDirectory()
        let root = try directory.sub("remote")
        let remote = ContentAddressedRemote(name: "nas", blobs: FilesystemBlobs(root: root))
        let content = Array("owned\n".utf8)
        let sha = SHA256.hash(content)
        let evil = ArtifactManifest(root: .tree([.file(path: "../../escaped", size: Int64(content.count), digest: sha, executable: false)]))
        try FilesystemBlobs(root: root).upload(bytes: content, to: RemoteLayout.content(sha))
        try FilesystemBlobs(root: root).upload(bytes: RemoteObjectManifest(evil).encoded, to: RemoteLayout.object(evil.digest))
        let target = try ArtifactStore(root: try directory.sub("b"))
        do {
            try remote.getObject(evil.digest, into: target, progress: TransferProgress())
            Issue.record("an escaping path was accepted")
        } catch {
            #expect("\(error)".contains("its manifest names an unsafe path '../../escaped'"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: target.root + "/escaped"))
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/escaped"))
    }

    @Test func aPushStoppedAfterAnyUploadLeavesTheRemoteConsistent() throws {
        let directory = try TemporaryDirectory()
        let source = try ArtifactStore(root: try directory.sub("a"))
        let keys = try RemoteFixture.makeResults(in: source)
        // Uploads of a full push: 5 content files + 3 manifests + 2 logs' manifests... count them.
        let probe = try directory.sub("probe")
        let counting = FailingBlobs(FilesystemBlobs(root: probe), uploadsBeforeFailure: 1_000, failure: .local(remote: "x", reason: "x"))
        for key in keys { try ContentAddressedRemote(name: "probe", blobs: counting).putRecord(key, from: source, progress: TransferProgress()) }
        let total = try POSIX.listDirectory(probe + "/cas").count + POSIX.listDirectory(probe + "/objects").count + POSIX.listDirectory(probe + "/stages").count
        for stop in 0..<total {
            let root = try directory.sub("remote-\(stop)")
            let failing = ContentAddressedRemote(name: "team", blobs: FailingBlobs(FilesystemBlobs(root: root), uploadsBeforeFailure: stop,
                                                                                   failure: .unavailable(remote: "team", path: "p", reason: "killed")))
            #expect(throws: RemoteError.self) { for key in keys { try failing.putRecord(key, from: source, progress: TransferProgress()) } }
            #expect(RemoteFixture.consistencyProblems(remoteRoot: root) == [], "stopped after \(stop) uploads")
            let records = (try? POSIX.listDirectory(root + "/stages")) ?? []
            #expect(records.count < 2, "stopped after \(stop) uploads, yet both records are visible")
            // Resuming the push completes it, skipping what made it.
            let resumed = ContentAddressedRemote(name: "team", blobs: FilesystemBlobs(root: root))
            for key in keys { try resumed.putRecord(key, from: source, progress: TransferProgress()) }
            #expect(try POSIX.listDirectory(root + "/stages").count == 2)
        }
    }

    @Test func aFullRemoteDiskIsAClearErrorAndLeavesNothingPartial() throws {
        let directory = try TemporaryDirectory()
        let root = try directory.sub("remote")
        let source = try ArtifactStore(root: try directory.sub("a"))
        let keys = try RemoteFixture.makeResults(in: source)
        let remote = ContentAddressedRemote(name: "nas", blobs: FailingBlobs(FilesystemBlobs(root: root), uploadsBeforeFailure: 2,
                                                                             failure: .full(remote: root, path: "cas/x", reason: "no space left on device")))
        do {
            try remote.putRecord(keys[0], from: source, progress: TransferProgress())
            Issue.record("push succeeded on a full disk")
        } catch {
            #expect("\(error)".contains("no space left for cas/x"), "\(error)")
            #expect("\(error)".contains("free space on the remote and push again"), "\(error)")
        }
        #expect(RemoteFixture.consistencyProblems(remoteRoot: root) == [])
        #expect(((try? POSIX.listDirectory(root + "/stages")) ?? []).isEmpty)
    }

    @Test func twoStoresPushingTheSameKeysAtOnceLeaveOneConsistentResult() throws {
        let directory = try TemporaryDirectory()
        let root = try directory.sub("remote")
        let stores = try (0..<2).map { try ArtifactStore(root: try directory.sub("s\($0)")) }
        let keys = try stores.map { try RemoteFixture.makeResults(in: $0, bigBytes: 1 << 20) }
        #expect(keys[0] == keys[1])
        let errors = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let remote = ContentAddressedRemote(name: "nas", blobs: FilesystemBlobs(root: root))
            do { for key in keys[i] { try remote.putRecord(key, from: stores[i], progress: TransferProgress()) } } catch { errors.add(error) }
        }
        #expect(errors.all.isEmpty, "\(errors.all)")
        #expect(RemoteFixture.consistencyProblems(remoteRoot: root) == [])
        let target = try ArtifactStore(root: try directory.sub("c"))
        for key in keys[0] {
            #expect(try ContentAddressedRemote(name: "nas", blobs: FilesystemBlobs(root: root)).pull(key: key, into: target, progress: TransferProgress()) != nil)
        }
    }

    @Test func aKeyTheRemoteLacksIsAbsentNotAnError() throws {
        let directory = try TemporaryDirectory()
        let remote = ContentAddressedRemote(name: "nas", blobs: FilesystemBlobs(root: try directory.sub("remote")))
        let store = try ArtifactStore(root: try directory.sub("a"))
        #expect(try remote.pull(key: SHA256.hash("nobody built this"), into: store, progress: TransferProgress()) == nil)
        #expect(try remote.getRun("20260101-000000-abcd") == nil)
    }
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [any Error] = []
    func add(_ error: any Error) { lock.lock(); errors.append(error); lock.unlock() }
    var all: [any Error] { lock.lock(); defer { lock.unlock() }; return errors }
}
