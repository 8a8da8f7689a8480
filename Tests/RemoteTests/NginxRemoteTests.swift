import Foundation
import Hashing
import RemoteHTTP
import Testing
@testable import Store

/// Against a real nginx WebDAV location on 127.0.0.1 (started by the test; skipped with the reason
/// when nginx is missing): uploads go to tmp/ and are MOVEd into place, downloads are verified.
@Suite("Remote cache: nginx WebDAV")
struct NginxRemoteTests {
    func withNginx(_ body: (LocalNginx, TemporaryDirectory) throws -> Void) throws {
        let directory = try TemporaryDirectory()
        switch LocalNginx.start(in: try directory.sub("nginx")) {
        case .failure(let skip):
            print("skipped: \(skip)")
        case .success(let server):
            defer { server.stop() }
            try body(server, directory)
        }
    }

    @Test func pushThenPullIntoAnEmptyStoreIsByteIdentical() throws {
        try withNginx { server, directory in
            let remote = ContentAddressedRemote(name: "team", blobs: try HTTPBlobs(url: server.url, authorization: nil))
            try RoundTrip.check(remote, remoteRoot: server.remoteRoot, directory: directory)
            #expect(try POSIX.listDirectory(server.remoteRoot + "/tmp") == [], "every upload was moved out of tmp/")
        }
    }

    @Test func directPutModeWorksToo() throws {
        try withNginx { server, directory in
            let remote = ContentAddressedRemote(name: "team", blobs: try HTTPBlobs(url: server.url, authorization: nil, uploadMode: .put))
            try RoundTrip.check(remote, remoteRoot: server.remoteRoot, directory: directory)
        }
    }

    @Test func aFlippedByteOnTheServerIsRefused() throws {
        try withNginx { server, directory in
            let remote = ContentAddressedRemote(name: "team", blobs: try HTTPBlobs(url: server.url, authorization: nil))
            try RoundTrip.checkFlippedByte(remote, remoteRoot: server.remoteRoot, directory: directory)
        }
    }

    @Test func twoStoresPushingTheSameKeysAtOnceLeaveOneConsistentResult() throws {
        try withNginx { server, directory in
            let stores = try (0..<2).map { try ArtifactStore(root: try directory.sub("s\($0)")) }
            let keys = try stores.map { try RemoteFixture.makeResults(in: $0, bigBytes: 4 << 20) }
            let errors = ErrorBox()
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                do {
                    let remote = ContentAddressedRemote(name: "team", blobs: try HTTPBlobs(url: server.url, authorization: nil))
                    for key in keys[i] { try remote.putRecord(key, from: stores[i], progress: TransferProgress()) }
                } catch { errors.add(error) }
            }
            #expect(errors.all.isEmpty, "\(errors.all)")
            #expect(RemoteFixture.consistencyProblems(remoteRoot: server.remoteRoot) == [])
            let target = try ArtifactStore(root: try directory.sub("c"))
            let remote = ContentAddressedRemote(name: "team", blobs: try HTTPBlobs(url: server.url, authorization: nil))
            for key in keys[0] { #expect(try remote.pull(key: key, into: target, progress: TransferProgress()) != nil) }
        }
    }

    @Test func aServerThatIsDownIsAClearErrorAfterRetries() throws {
        let blobs = try HTTPBlobs(url: "http://127.0.0.1:\(freeLoopbackPort())/pipe", authorization: nil, retries: 2, timeout: 1, firstBackoff: 0.01)
        do {
            _ = try blobs.size(of: "stages/x.json")
            Issue.record("no error from a closed port")
        } catch {
            #expect("\(error)".contains("HEAD failed after 3 attempts: cannot connect to 127.0.0.1"), "\(error)")
            #expect("\(error)".contains("check that the server is up"), "\(error)")
        }
    }
}
