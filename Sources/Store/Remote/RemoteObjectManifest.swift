import Foundation
import Hashing

/// `objects/<digest>` on a remote: an object's `ArtifactManifest` as JSON. The file contents live
/// once each under `cas/<sha256>`, so identical files in different objects (a tokenizer copied
/// into every model, an unchanged data split) are stored and moved once.
///
/// A downloaded manifest is trusted only when the `ArtifactManifest` it describes hashes to the
/// digest it was fetched for; its paths are checked to stay inside the object (no `..`, no absolute
/// or empty components) before anything is created from them.
struct RemoteObjectManifest: Codable, Equatable {
    static let currentFormat = "pipe.remote-object.v1"

    struct Entry: Codable, Equatable {
        /// "file", "dir" or "symlink".
        var kind: String
        /// Relative path ("" for a single-file object).
        var path: String
        var size: Int64?
        var sha256: Digest?
        var executable: Bool?
        var target: String?
    }

    var format: String
    /// "file" (a single file) or "tree".
    var root: String
    var entries: [Entry]

    init(_ manifest: ArtifactManifest) {
        format = Self.currentFormat
        switch manifest.root {
        case let .file(size, digest, executable):
            root = "file"
            entries = [Entry(kind: "file", path: "", size: size, sha256: digest, executable: executable)]
        case let .tree(items):
            root = "tree"
            entries = items.map { item in
                switch item {
                case let .file(path, size, digest, executable):
                    Entry(kind: "file", path: path, size: size, sha256: digest, executable: executable)
                case let .directory(path): Entry(kind: "dir", path: path)
                case let .symlink(path, target): Entry(kind: "symlink", path: path, target: target)
                }
            }
        }
    }

    var encoded: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? [UInt8](encoder.encode(self))) ?? []
    }

    /// Parses and checks a downloaded manifest; the failure says what is wrong (for the error message).
    static func decode(_ bytes: [UInt8]) -> Result<ArtifactManifest, ManifestProblem> {
        let parsed: RemoteObjectManifest
        do { parsed = try JSONDecoder().decode(RemoteObjectManifest.self, from: Data(bytes)) } catch {
            return .failure(ManifestProblem(reason: "its manifest is not valid JSON (\(ArtifactStore.describe(error)))"))
        }
        guard parsed.format == currentFormat else { return .failure(ManifestProblem(reason: "its manifest has unknown format '\(parsed.format)'")) }
        if parsed.root == "file" {
            guard parsed.entries.count == 1, let entry = parsed.entries.first, entry.kind == "file", entry.path.isEmpty,
                  let size = entry.size, size >= 0, let sha = entry.sha256 else {
                return .failure(ManifestProblem(reason: "its manifest describes a malformed single-file object"))
            }
            return .success(ArtifactManifest(root: .file(size: size, digest: sha, executable: entry.executable ?? false)))
        }
        guard parsed.root == "tree" else { return .failure(ManifestProblem(reason: "its manifest has unknown root '\(parsed.root)'")) }
        var items: [ArtifactManifest.Entry] = []
        for entry in parsed.entries {
            guard isSafeRelativePath(entry.path) else { return .failure(ManifestProblem(reason: "its manifest names an unsafe path '\(entry.path)'")) }
            switch entry.kind {
            case "file":
                guard let size = entry.size, size >= 0, let sha = entry.sha256 else {
                    return .failure(ManifestProblem(reason: "its manifest lists file '\(entry.path)' without size or sha256"))
                }
                items.append(.file(path: entry.path, size: size, digest: sha, executable: entry.executable ?? false))
            case "dir": items.append(.directory(path: entry.path))
            case "symlink":
                guard let target = entry.target, !target.hasPrefix("/"), !target.isEmpty else {
                    return .failure(ManifestProblem(reason: "its manifest lists symlink '\(entry.path)' with an absolute or empty target"))
                }
                items.append(.symlink(path: entry.path, target: target))
            default: return .failure(ManifestProblem(reason: "its manifest has an entry of unknown kind '\(entry.kind)'"))
            }
        }
        return .success(ArtifactManifest(root: .tree(items)))
    }

    /// Non-empty components, none "." or "..", no NUL: the path stays inside the object's directory.
    static func isSafeRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.utf8.contains(0) else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }
}

/// Why a downloaded manifest cannot be used.
struct ManifestProblem: Error { var reason: String }

/// `runs/<id>.json` on a remote: which stage keys a pushed run consists of.
public struct RemoteRun: Codable, Sendable, Equatable {
    public static let currentFormat = "pipe.remote-run.v1"
    public struct Stage: Codable, Sendable, Equatable {
        public var stage: String
        public var key: Digest
        public init(stage: String, key: Digest) { self.stage = stage; self.key = key }
    }
    public var format: String
    public var run: String
    public var pipeline: String
    public var stages: [Stage]

    public init(run: String, pipeline: String, stages: [Stage]) {
        format = Self.currentFormat; self.run = run; self.pipeline = pipeline; self.stages = stages
    }
}
