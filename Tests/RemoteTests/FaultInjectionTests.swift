import Foundation
import Hashing
import RemoteHTTP
import Testing
@testable import Store

/// Against `fault_server.py` (python3): 5xx, short bodies, timeouts and 4xx, each ending in a
/// consistent remote and a clear message; retried where retrying is right.
@Suite("Remote cache: server faults")
struct FaultInjectionTests {
    func withServer(_ body: (FaultServer, TemporaryDirectory) throws -> Void) throws {
        let directory = try TemporaryDirectory()
        switch FaultServer.start(root: try directory.sub("served")) {
        case .failure(let skip): print("skipped: \(skip)")
        case .success(let server): try body(server, directory)
        }
    }

    func remote(_ server: FaultServer, retries: Int = 3, timeout: Double = 5, authorization: String? = nil) throws -> ContentAddressedRemote {
        ContentAddressedRemote(name: "team", blobs: try HTTPBlobs(url: server.url + "/cache", authorization: authorization, retries: retries,
                                                                  timeout: timeout, firstBackoff: 0.01))
    }

    @Test func serverErrorsAreRetriedAndThePushCompletes() throws {
        try withServer { server, directory in
            let store = try ArtifactStore(root: try directory.sub("a"))
            let keys = try RemoteFixture.makeResults(in: store)
            try server.inject(#"{"status": 500, "count": 3}"#)
            for key in keys { try remote(server).putRecord(key, from: store, progress: TransferProgress()) }
            #expect(RemoteFixture.consistencyProblems(remoteRoot: server.root + "/cache") == [])
            #expect(try POSIX.listDirectory(server.root + "/cache/stages").count == 2)
            let target = try ArtifactStore(root: try directory.sub("b"))
            try server.inject(#"{"status": 503, "count": 2}"#)
            for key in keys { #expect(try remote(server).pull(key: key, into: target, progress: TransferProgress()) != nil) }
        }
    }

    @Test func persistentServerErrorsEndInAClearErrorAndNothingVisible() throws {
        try withServer { server, directory in
            let store = try ArtifactStore(root: try directory.sub("a"))
            let keys = try RemoteFixture.makeResults(in: store)
            try server.inject(#"{"status": 500, "count": 1000}"#)
            do {
                try remote(server, retries: 2).putRecord(keys[0], from: store, progress: TransferProgress())
                Issue.record("push succeeded against a failing server")
            } catch {
                #expect("\(error)".hasPrefix("remote \(server.url)/cache: stages/\(keys[0].hex).json: HEAD failed after 3 attempts: HTTP 500"), "\(error)")
                #expect("\(error)".contains("failed after 3 attempts: HTTP 500"), "\(error)")
            }
            #expect(try server.stats()["HEAD"] == 3, "HEAD tried 3 times")
            try server.inject(#"{"status": 500, "count": 0}"#)
            #expect(RemoteFixture.consistencyProblems(remoteRoot: server.root + "/cache") == [])
            #expect(((try? POSIX.listDirectory(server.root + "/cache/stages")) ?? []).isEmpty)
        }
    }

    @Test func aShortBodyIsRetriedAndNeverEntersTheStore() throws {
        try withServer { server, directory in
            let store = try ArtifactStore(root: try directory.sub("a"))
            let keys = try RemoteFixture.makeResults(in: store, bigBytes: 1 << 20)
            for key in keys { try remote(server).putRecord(key, from: store, progress: TransferProgress()) }
            // One short body: retried, the pull succeeds.
            let target = try ArtifactStore(root: try directory.sub("b"))
            try server.inject(#"{"short": 1}"#)
            #expect(try remote(server).pull(key: keys[0], into: target, progress: TransferProgress()) != nil)
            // Short every time: a clear error, nothing in the store.
            let other = try ArtifactStore(root: try directory.sub("c"))
            try server.inject(#"{"short": 100}"#)
            do {
                _ = try remote(server, retries: 1).pull(key: keys[0], into: other, progress: TransferProgress())
                Issue.record("a short body was accepted")
            } catch {
                #expect("\(error)".contains("failed after 2 attempts: short body: the server sent"), "\(error)")
            }
            #expect(other.record(forKey: keys[0]) == nil)
            #expect(try POSIX.listDirectory(other.temporaryDirectory).filter { !$0.hasPrefix("shape~") } == [])
        }
    }

    @Test func aTimeoutIsRetried() throws {
        try withServer { server, directory in
            let store = try ArtifactStore(root: try directory.sub("a"))
            let keys = try RemoteFixture.makeResults(in: store)
            try server.inject(#"{"sleep": 1.5, "count": 1}"#)
            let started = Date()
            try remote(server, timeout: 0.5).putRecord(keys[1], from: store, progress: TransferProgress())
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(try remote(server).hasRecord(keys[1]))
        }
    }

    @Test func missingIsAnAnswerAndRefusalsAreNotRetried() throws {
        try withServer { server, directory in
            #expect(try remote(server).getRecord(SHA256.hash("absent")) == nil)
            try server.inject(#"{"status": 401, "count": 1}"#)
            do {
                _ = try remote(server).getRecord(SHA256.hash("absent"))
                Issue.record("401 was not an error")
            } catch {
                #expect("\(error)" == "remote \(server.url)/cache: stages/\(SHA256.hash("absent").hex).json: GET was refused (HTTP 401 Unauthorized); the server wants credentials: name an environment variable holding them with auth_env in pipe.config.yaml")
            }
            #expect(try server.stats()["GET"] == 2, "401 is not retried")
            let store = try ArtifactStore(root: try directory.sub("a"))
            let keys = try RemoteFixture.makeResults(in: store)
            try server.inject(#"{"status": 507, "count": 1000}"#)
            do {
                try remote(server).putRecord(keys[1], from: store, progress: TransferProgress())
                Issue.record("507 was not an error")
            } catch {
                #expect("\(error)".contains("no space left for"), "\(error)")
            }
        }
    }
}
