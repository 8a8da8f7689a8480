import Hashing

/// A downloaded object whose bytes do not match the manifest it was fetched for.
struct DownloadMismatch: Error {
    var reason: String
}

extension ArtifactStore {
    /// Ingests a downloaded tree only if it hashes to `digest`; otherwise throws `DownloadMismatch`
    /// naming the first file that differs from `expected` (the tree stays in staging, is never an
    /// object). One hashing pass: the check runs on the manifest `ingest` computes anyway.
    func ingestDownloaded(_ path: String, expected: ArtifactManifest, digest: Digest) throws {
        _ = try ingest(path) { actual in
            guard actual.digest != digest else { return }
            throw DownloadMismatch(reason: Self.firstDifference(actual: actual, expected: expected))
        }
    }

    static func firstDifference(actual: ArtifactManifest, expected: ArtifactManifest) -> String {
        func describe(_ root: ArtifactManifest.Root) -> [String: String] {
            switch root {
            case let .file(size, sha, _): return ["": "\(size) bytes hashing to \(sha.short)"]
            case let .tree(entries):
                var map: [String: String] = [:]
                for entry in entries {
                    switch entry {
                    case let .file(path, size, sha, _): map[path] = "\(size) bytes hashing to \(sha.short)"
                    case let .directory(path): map[path] = "a directory"
                    case let .symlink(path, target): map[path] = "a symlink to \(target)"
                    }
                }
                return map
            }
        }
        let have = describe(actual.root), want = describe(expected.root)
        for path in want.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) where have[path] != want[path] {
            let name = path.isEmpty ? "its content" : "file '\(path)'"
            return "\(name) arrived as \(have[path] ?? "nothing"), expected \(want[path]!)"
        }
        return "its content hashes to \(actual.digest.short), not to its name (file modes differ)"
    }
}
