import Foundation
import Hashing

/// The transport under a remote cache: named files in a flat namespace of relative paths
/// (`cas/<sha256>`, `objects/<digest>`, `stages/<key>.json`, `runs/<id>.json`). A filesystem path, an
/// HTTP(S) server (nginx WebDAV, or any server with atomic PUT) — and later S3 — implement this; everything above
/// it (layout, verification, ordering) is `ContentAddressedRemote`, shared by all transports.
///
/// Contract for implementations:
/// - `upload` makes the file appear under `path` atomically: readers see the old state or the whole
///   new file, never a prefix (temporary name then rename/MOVE, or a server that does the same).
/// - "Missing" is an answer (nil/false), not an error; every error thrown is a `RemoteError`.
/// - Transient failures (timeouts, connection errors, server errors) are retried inside the transport.
public protocol RemoteBlobs: Sendable {
    /// How the remote is named in messages (its URL or path).
    var location: String { get }
    /// The size of the file at `path`, or nil when it does not exist (HEAD).
    func size(of path: String) throws -> Int64?
    /// The whole file at `path` in memory (small files: manifests, records), or nil when missing.
    func read(_ path: String) throws -> [UInt8]?
    /// Writes the file at `path` into `localFile` (created; must not exist; not fsynced) and returns
    /// the size and SHA-256 of the bytes written, hashed as they streamed in (no second read). Nil
    /// when missing. `expectedSize` lets the transport report a short body as such.
    func download(_ path: String, to localFile: String, expectedSize: Int64?) throws -> DownloadedFile?
    /// Uploads `localFile` so that it appears at `path` atomically.
    func upload(file localFile: String, size: Int64, to path: String) throws
    /// Uploads `bytes` so that they appear at `path` atomically.
    func upload(bytes: [UInt8], to path: String) throws
    /// The files directly in `directory` (e.g. "tmp"), with the remote's clock; nil when this
    /// transport cannot list (an HTTP server without PROPFIND). A missing directory lists empty.
    func list(_ directory: String) throws -> RemoteListing?
    /// Deletes the file at `path`; a missing file is not an error.
    func remove(_ path: String) throws
}

extension RemoteBlobs {
    public func list(_ directory: String) throws -> RemoteListing? { nil }
    public func remove(_ path: String) throws {
        throw RemoteError.refused(remote: location, path: path, reason: "this transport cannot delete files")
    }
}

/// One file on a remote, from a listing.
public struct RemoteFile: Sendable, Equatable {
    public var name: String
    public var size: Int64
    /// Last modification, by the remote's clock.
    public var modified: Date
    public init(name: String, size: Int64, modified: Date) { self.name = name; self.size = size; self.modified = modified }
}

/// A directory listing and the remote's time when it was taken (ages are measured on the remote's
/// clock, so a skewed local clock cannot make a young upload look old).
public struct RemoteListing: Sendable, Equatable {
    public var files: [RemoteFile]
    public var now: Date
    public init(files: [RemoteFile], now: Date) { self.files = files; self.now = now }
}

/// The remote layout (relative paths), shared by every transport.
public enum RemoteLayout {
    /// A file's content, named by its SHA-256 (the digest the artifact manifest records for it).
    public static func content(_ sha: Digest) -> String { "cas/" + sha.hex }
    /// An object's manifest (`RemoteObjectManifest`), named by the object's artifact digest.
    public static func object(_ digest: Digest) -> String { "objects/" + digest.hex }
    /// A stage record, byte for byte as in the store's `stages/`.
    public static func record(_ key: Digest) -> String { "stages/" + key.hex + ".json" }
    /// The stage keys of a pushed run (`RemoteRun`), so `pipe pull RUN` works on an empty store.
    public static func run(_ id: String) -> String { "runs/" + id + ".json" }
    /// Collections a WebDAV server must have (MKCOL) before files are moved into them.
    public static let collections = ["cas", "objects", "stages", "runs", "tmp"]
}
