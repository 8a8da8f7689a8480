import Hashing

/// The canonical description of an artifact (a single file or a directory tree) whose SHA-256 is the
/// artifact's digest. Scheme `pipe.artifact.v1`, written with `CanonicalEncoder` (one-byte type tag;
/// strings and byte strings length-prefixed with a little-endian UInt64; ints as little-endian UInt64):
///
///     string "pipe.artifact.v1"
///     single file:  string "file", int size, bytes sha256(content), bool executable
///     directory:    string "tree", list [ entry... ] sorted by relative path (UTF-8 bytes)
///       entry file:     string "file", string path, int size, bytes sha256(content), bool executable
///       entry dir:      string "dir", string path
///       entry symlink:  string "symlink", string path, string target
///
/// Paths are relative to the artifact root, joined with "/". Only the owner's execute bit is
/// recorded: other permission bits, owners and timestamps never change a digest (objects are stored
/// read-only, their sources usually are not). Empty directories are recorded so that layout changes
/// change the digest. `Tests/StoreTests/manifest_digest.py` recomputes it independently.
///
/// Symlinks: a symlink *given as the artifact path* is followed (a workspace input may be a link to
/// a data disk). Inside a tree, a symlink is kept as a symlink (recorded by its target text, not by
/// what it points to) when its target is relative and it resolves, after following every link, to
/// an existing path inside the tree; absolute, escaping and dangling links are rejected with an
/// error naming the link. Keeping links as links means a stored object never reaches outside itself.
/// FIFOs, sockets and devices are rejected.
public struct ArtifactManifest: Sendable, Equatable {
    public enum Entry: Sendable, Equatable {
        case file(path: String, size: Int64, digest: Digest, executable: Bool)
        case directory(path: String)
        case symlink(path: String, target: String)

        public var path: String {
            switch self {
            case let .file(path, _, _, _), let .directory(path), let .symlink(path, _): return path
            }
        }
    }

    public enum Root: Sendable, Equatable {
        case file(size: Int64, digest: Digest, executable: Bool)
        case tree([Entry])
    }

    public static let scheme = "pipe.artifact.v1"

    public var root: Root

    /// Total bytes of regular-file content.
    public var totalSize: Int64 {
        switch root {
        case let .file(size, _, _): return size
        case let .tree(entries):
            return entries.reduce(0) { sum, entry in
                if case let .file(_, size, _, _) = entry { return sum + size }
                return sum
            }
        }
    }

    public var encoded: [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.string(Self.scheme)
        switch root {
        case let .file(size, digest, executable):
            encoder.string("file")
            encoder.int(size)
            encoder.digest(digest)
            encoder.bool(executable)
        case let .tree(entries):
            encoder.string("tree")
            encoder.list { list in
                for entry in entries {
                    switch entry {
                    case let .file(path, size, digest, executable):
                        list.string("file"); list.string(path); list.int(size); list.digest(digest); list.bool(executable)
                    case let .directory(path):
                        list.string("dir"); list.string(path)
                    case let .symlink(path, target):
                        list.string("symlink"); list.string(path); list.string(target)
                    }
                }
            }
        }
        return encoder.bytes
    }

    public var digest: Digest { SHA256.hash(encoded) }
}
