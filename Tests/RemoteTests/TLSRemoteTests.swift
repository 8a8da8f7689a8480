import Foundation
import Hashing
import RemoteHTTP
import Testing
@testable import Store

/// https:// against a real nginx with TLS on 127.0.0.1, its self-signed certificate made by
/// `openssl req` in the test's directory (skipped with the reason when nginx or openssl cannot start).
@Suite("Remote cache: nginx over https")
struct TLSRemoteTests {
    func withTLSNginx(_ body: (LocalNginx, LocalNginx.TLSFiles, TemporaryDirectory) throws -> Void) throws {
        let directory = try TemporaryDirectory()
        let certificate: LocalNginx.TLSFiles
        switch LocalNginx.makeSelfSignedCertificate(in: try directory.sub("certs")) {
        case .failure(let skip): print("skipped: \(skip)"); return
        case .success(let files): certificate = files
        }
        switch LocalNginx.start(in: try directory.sub("nginx"), tls: certificate) {
        case .failure(let skip):
            print("skipped: \(skip)")
        case .success(let server):
            defer { server.stop() }
            #expect(server.url.hasPrefix("https://127.0.0.1:"))
            try body(server, certificate, directory)
        }
    }

    @Test func pushPullAndReadThroughWorkWhenTheServersCAIsTrusted() throws {
        try withTLSNginx { server, certificate, directory in
            let remote = ContentAddressedRemote(name: "team", blobs: try HTTPBlobs(url: server.url, authorization: nil, caFile: certificate.certificate))
            try RoundTrip.check(remote, remoteRoot: server.remoteRoot, directory: directory)
            // Read-through as the runner does it: a key missing locally is pulled, a large file streams
            // through TLS and is verified on the way in.
            let source = try ArtifactStore(root: try directory.sub("big-source"))
            let keys = try RemoteFixture.makeResults(in: source, bigBytes: 3 << 20, seed: 7)
            for key in keys { try remote.putRecord(key, from: source, progress: TransferProgress()) }
            let fresh = try ArtifactStore(root: try directory.sub("big-target"))
            for key in keys {
                #expect(fresh.record(forKey: key) == nil)
                let record = try #require(try remote.pull(key: key, into: fresh, progress: TransferProgress()))
                for object in record.referencedObjects { #expect(fresh.objectCorruption(object) == nil) }
            }
        }
    }

    @Test func anUntrustedCertificateIsAClearErrorNamingTheRemote() throws {
        try withTLSNginx { server, _, directory in
            // No CA given: the self-signed certificate is not trusted (and never silently accepted).
            let untrusted = ContentAddressedRemote(name: "team", blobs: try HTTPBlobs(url: server.url, authorization: nil, retries: 0))
            do {
                _ = try untrusted.hasRecord(SHA256.hash("x"))
                Issue.record("an untrusted certificate was accepted")
            } catch {
                let text = "\(error)"
                #expect(text.contains("remote \(server.url)"), "\(text)")
                #expect(text.contains("TLS certificate was not accepted (self-signed certificate)"), "\(text)")
                #expect(text.contains("ca_file"), "\(text)")
            }
            // The wrong CA: another self-signed certificate.
            let other = try #require(try? LocalNginx.makeSelfSignedCertificate(in: try directory.sub("other"), name: "other").get())
            let wrong = ContentAddressedRemote(name: "team", blobs: try HTTPBlobs(url: server.url, authorization: nil, retries: 0, caFile: other.certificate))
            do {
                _ = try wrong.hasRecord(SHA256.hash("x"))
                Issue.record("a certificate signed by another CA was accepted")
            } catch {
                #expect("\(error)".contains("it is not signed by the CA in \(other.certificate) nor by a system CA"), "\(error)")
            }
        }
    }

    @Test func aCAFileThatCannotBeUsedIsRefusedUpFront() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: RemoteError.local(remote: "https://127.0.0.1:1/pipe", reason: "CA file \(directory.path)/none.pem does not exist or cannot be read")) {
            _ = try HTTPBlobs(url: "https://127.0.0.1:1/pipe", authorization: nil, caFile: directory.path + "/none.pem")
        }
        try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: directory.path + "/junk.pem"))
        do {
            _ = try HTTPBlobs(url: "https://127.0.0.1:1/pipe", authorization: nil, caFile: directory.path + "/junk.pem")
            Issue.record("a CA file without certificates was accepted")
        } catch {
            #expect("\(error)".contains("junk.pem holds no usable PEM certificate"), "\(error)")
        }
        #expect(throws: RemoteError.self) { _ = try HTTPBlobs(url: "http://127.0.0.1:1/pipe", authorization: nil, caFile: directory.path + "/junk.pem") }
    }

    @Test func plainHTTPToATLSPortFailsClearly() throws {
        try withTLSNginx { server, _, _ in
            let plain = try HTTPBlobs(url: server.url.replacingOccurrences(of: "https://", with: "http://"), authorization: nil, retries: 0)
            #expect(throws: RemoteError.self) { _ = try plain.size(of: "stages/x.json") }
        }
    }
}
