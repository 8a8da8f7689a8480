import Foundation
import Hashing
import Testing
@testable import Store

@Suite("Artifact digests")
struct ArtifactDigestTests {
    /// The fixed tree whose digest is pinned below. `manifest_digest.py` (beside this file) computed
    /// the same digest independently; the test re-runs it when python3 is available.
    static func makeGoldenTree(_ dir: TemporaryDirectory) throws -> String {
        try dir.makeDirectory("gt/data/empty")
        try dir.write("gt/a.txt", "hello\n")
        try dir.write("gt/B.txt", "upper\n")
        try dir.write("gt/bin/run.sh", "#!/bin/sh\necho hi\n", mode: 0o755)
        try dir.write("gt/data/z.bin", (0...255).map { UInt8($0) })
        try dir.write("gt/data/ü.txt", "unicode\n")
        try dir.symlink("gt/link", to: "a.txt")
        try dir.symlink("gt/data/up", to: "../a.txt")
        return dir.path + "/gt"
    }

    static let goldenTreeDigest = "210c82fa14c90189e2d26bf8839fb382d93f91ff398076dbe96800de0328101f"
    static let goldenFileDigest = "b94f08ba4e1aeb88038c2530e722189ffd4f891c78a345f94417cddf37fdac10"

    func digest(_ path: String) throws -> Digest {
        try ArtifactScanner(statCache: nil).manifest(ofPath: path).digest
    }

    @Test func goldenDigestOfAFixedTree() throws {
        let dir = try TemporaryDirectory()
        let tree = try Self.makeGoldenTree(dir)
        #expect(try digest(tree).hex == Self.goldenTreeDigest)
        #expect(try digest(tree + "/a.txt").hex == Self.goldenFileDigest)
        // The store's public entry point (with stat cache) agrees.
        let store = try ArtifactStore(root: dir.path + "/store")
        #expect(try store.digest(ofPath: tree).hex == Self.goldenTreeDigest)
    }

    @Test(.enabled(if: commandExists("/usr/bin/python3")))
    func independentPythonImplementationAgrees() throws {
        let dir = try TemporaryDirectory()
        let tree = try Self.makeGoldenTree(dir)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("manifest_digest.py").path
        for target in [tree, tree + "/a.txt", tree + "/bin"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script, target]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let expected = try digest(target).hex
            #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == expected, "for \(target)")
        }
    }

    @Test func sensitiveToRenameContentExecBitAndEmptyDirectories() throws {
        let dir = try TemporaryDirectory()
        let tree = try Self.makeGoldenTree(dir)
        let original = try digest(tree)

        rename(tree + "/B.txt", tree + "/C.txt")
        let renamed = try digest(tree)
        #expect(renamed != original)
        rename(tree + "/C.txt", tree + "/B.txt")
        #expect(try digest(tree) == original)

        chmod(tree + "/a.txt", 0o744)
        #expect(try digest(tree) != original, "owner exec bit is part of the digest")
        chmod(tree + "/a.txt", 0o644)

        chmod(tree + "/a.txt", 0o400)
        chmod(tree + "/bin/run.sh", 0o500)
        #expect(try digest(tree) == original, "read/write bits are not (objects are stored read-only)")
        chmod(tree + "/a.txt", 0o644)
        chmod(tree + "/bin/run.sh", 0o755)

        try dir.write("gt/a.txt", "hellO\n")  // same size, different bytes
        #expect(try digest(tree) != original)
        try dir.write("gt/a.txt", "hello\n")
        #expect(try digest(tree) == original)

        rmdir(tree + "/data/empty")
        #expect(try digest(tree) != original, "empty directories count")
    }

    @Test func singleFileDiffersFromDirectoryHoldingIt() throws {
        let dir = try TemporaryDirectory()
        try dir.write("f/x", "same")
        try dir.write("x", "same")
        #expect(try digest(dir.path + "/f") != digest(dir.path + "/x"))
    }

    @Test func symlinksThatLeaveTheArtifactAreRejected() throws {
        let dir = try TemporaryDirectory()
        try dir.write("outside.txt", "secret")
        try dir.write("art/in.txt", "x")
        try dir.symlink("art/escape", to: "../outside.txt")
        #expect(throws: StoreError.self) { try digest(dir.path + "/art") }

        try FileManager.default.removeItem(atPath: dir.path + "/art/escape")
        try dir.symlink("art/absolute", to: dir.path + "/art/in.txt")
        #expect(throws: StoreError.self) { try digest(dir.path + "/art") }

        try FileManager.default.removeItem(atPath: dir.path + "/art/absolute")
        try dir.symlink("art/dangling", to: "nowhere.txt")
        #expect(throws: StoreError.self) { try digest(dir.path + "/art") }

        // Text that stays inside, but only by passing through a link that leaves the tree.
        try FileManager.default.removeItem(atPath: dir.path + "/art/dangling")
        try dir.write("elsewhere/deep/f", "y")
        try dir.makeDirectory("art/sub")
        try dir.symlink("art/sub/gate", to: "../../elsewhere/deep")
        #expect(throws: StoreError.self) { try digest(dir.path + "/art") }

        // An in-tree relative link is fine and is recorded as a link.
        try FileManager.default.removeItem(atPath: dir.path + "/art/sub/gate")
        try dir.symlink("art/sub/hop", to: "../in.txt")
        let manifest = try ArtifactScanner(statCache: nil).manifest(ofPath: dir.path + "/art")
        #expect(manifest.root == .tree([.file(path: "in.txt", size: 1, digest: SHA256.hash("x"), executable: false),
                                        .directory(path: "sub"), .symlink(path: "sub/hop", target: "../in.txt")]))
    }

    @Test func artifactPathThatIsASymlinkIsFollowed() throws {
        let dir = try TemporaryDirectory()
        try dir.write("real/file.txt", "data")
        try dir.symlink("alias", to: dir.path + "/real")
        #expect(try digest(dir.path + "/alias") == digest(dir.path + "/real"))
    }

    @Test func missingPathIsAClearError() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: StoreError.missingArtifact(path: dir.path + "/nope")) { try digest(dir.path + "/nope") }
    }

    @Test func largeFileHashesLikeOneShotSHA256() throws {
        let dir = try TemporaryDirectory()
        // Spans several read chunks and ends mid-chunk.
        var bytes = [UInt8](repeating: 0, count: FileHasher.chunkSize * 2 + 12345)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: index &* 2654435761 >> 7) }
        try dir.write("big.bin", bytes)
        let result = try FileHasher.hash(path: dir.path + "/big.bin")
        #expect(result.digest == SHA256.hash(bytes))
        #expect(result.size == Int64(bytes.count))
    }
}
