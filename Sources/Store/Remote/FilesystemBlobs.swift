#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A remote on a mounted path (NAS, shared disk). Uploads are written under `tmp/`, fsynced and
/// renamed into place, so a killed push leaves at most a stray file in `tmp/`, never a partial file
/// under its final name. `tmp/` sits inside the remote root so the rename never crosses filesystems.
public struct FilesystemBlobs: RemoteBlobs {
    public let root: String
    public var location: String { root }

    public init(root: String) {
        var path = root
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.root = path
    }

    private func full(_ path: String) -> String { root + "/" + path }

    private func wrap<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as StoreError {
            if case .noSpace = error { throw RemoteError.full(remote: root, path: path, reason: "no space left on device") }
            if case let .io(operation, file, reason) = error {
                throw RemoteError.unavailable(remote: root, path: path, reason: "\(operation) failed for \(file): \(reason)")
            }
            throw RemoteError.local(remote: root, reason: "\(path): \(error)")
        }
    }

    public func size(of path: String) throws -> Int64? {
        try wrap(path) {
            guard let status = try POSIX.status(full(path), followSymlinks: true), status.isRegularFile else { return nil }
            return status.size
        }
    }

    public func read(_ path: String) throws -> [UInt8]? {
        try wrap(path) { try POSIX.readFile(full(path)) }
    }

    public func download(_ path: String, to localFile: String, expectedSize: Int64?) throws -> DownloadedFile? {
        try wrap(path) {
            guard POSIX.exists(full(path)) else { return nil }
            return try POSIX.copyFileHashing(from: full(path), to: localFile)
        }
    }

    public func upload(file localFile: String, size: Int64, to path: String) throws {
        try place(path) { temporary in _ = try POSIX.copyFile(from: localFile, to: temporary, sync: true) }
    }

    public func upload(bytes: [UInt8], to path: String) throws {
        try place(path) { temporary in try POSIX.writeNewFile(temporary, bytes, sync: true) }
    }

    public func list(_ directory: String) throws -> RemoteListing? {
        try wrap(directory) {
            let now = Date()
            guard POSIX.exists(full(directory)) else { return RemoteListing(files: [], now: now) }
            var files: [RemoteFile] = []
            for name in try POSIX.listDirectory(full(directory)).sorted() {
                guard let status = try POSIX.status(full(directory) + "/" + name), status.isRegularFile else { continue }
                files.append(RemoteFile(name: name, size: status.size,
                                        modified: Date(timeIntervalSince1970: Double(status.modifiedNanoseconds) / 1e9)))
            }
            return RemoteListing(files: files, now: now)
        }
    }

    public func remove(_ path: String) throws {
        try wrap(path) {
            if unlink(full(path)) != 0 && errno != ENOENT { throw POSIX.fail("unlink", full(path)) }
        }
    }

    /// Writes through `write` to a fresh name in tmp/, then renames it to `path`.
    private func place(_ path: String, write: (String) throws -> Void) throws {
        try wrap(path) {
            try POSIX.makeDirectories(root + "/tmp")
            let temporary = root + "/tmp/" + POSIX.hostName + "~\(getpid())~" + POSIX.randomHex(12)
            try write(temporary)
            let destination = full(path)
            try POSIX.makeDirectories(POSIX.parentDirectory(destination))
            let code = POSIX.rename(temporary, destination)
            guard code == 0 else { unlink(temporary); throw POSIX.fail("rename", destination, code) }
            try? POSIX.fsyncPath(POSIX.parentDirectory(destination), directory: true)
        }
    }
}
