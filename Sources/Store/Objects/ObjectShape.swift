import Foundation
import Hashing

/// `shapes/<digest>.json`: the entry list and file sizes of an object, written when it is ingested.
///
/// A cache hit compares the object against it with `lstat` only (no hashing), so a file deleted,
/// added or truncated inside a directory object is found before the object is handed to a stage
/// or exported. Edits that keep every size are `pipe verify`'s job (it re-hashes everything).
struct ObjectShape: Codable, Sendable, Equatable {
    /// File objects: their size. Tree objects: nil.
    var size: Int64?
    /// Tree objects: relative path → size of every regular file.
    var files: [String: Int64]?
    var directories: [String]?
    var symlinks: [String]?

    init(_ manifest: ArtifactManifest) {
        switch manifest.root {
        case let .file(size, _, _):
            self.size = size
        case let .tree(entries):
            var files: [String: Int64] = [:], directories: [String] = [], symlinks: [String] = []
            for entry in entries {
                switch entry {
                case let .file(path, size, _, _): files[path] = size
                case let .directory(path): directories.append(path)
                case let .symlink(path, _): symlinks.append(path)
                }
            }
            self.files = files
            self.directories = directories
            self.symlinks = symlinks
        }
    }

    var entryCount: Int { (files?.count ?? 0) + (directories?.count ?? 0) + (symlinks?.count ?? 0) }

    /// What differs between `path` and this shape (first problem found), nil when it matches.
    func damage(at path: String) -> String? {
        guard let status = try? POSIX.status(path) else { return "it is missing" }
        if let size {
            guard status.isRegularFile else { return "it is no longer a file" }
            return status.size == size ? nil : "it has \(status.size) bytes, expected \(size)"
        }
        guard status.isDirectory else { return "it is no longer a directory" }
        let files = files ?? [:]
        let directories = Set(directories ?? []), symlinks = Set(symlinks ?? [])
        for (relative, expected) in files.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            guard let file = try? POSIX.status(path + "/" + relative), file.isRegularFile else { return "file '\(relative)' is missing" }
            if file.size != expected { return "file '\(relative)' has \(file.size) bytes, expected \(expected)" }
        }
        for relative in directories.sorted() where !((try? POSIX.status(path + "/" + relative))??.isDirectory ?? false) {
            return "directory '\(relative)' is missing"
        }
        for relative in symlinks.sorted() where !((try? POSIX.status(path + "/" + relative))??.isSymlink ?? false) {
            return "symlink '\(relative)' is missing"
        }
        let found = Self.countEntries(path)
        return found == entryCount ? nil : "it has \(found) entries, expected \(entryCount)"
    }

    private static func countEntries(_ directory: String) -> Int {
        guard let names = try? POSIX.listDirectory(directory) else { return 0 }
        var count = names.count
        for name in names where (try? POSIX.status(directory + "/" + name))??.isDirectory == true {
            count += countEntries(directory + "/" + name)
        }
        return count
    }
}

extension ArtifactStore {
    public var shapesDirectory: String { root + "/shapes" }

    func shapePath(_ digest: Digest) -> String { shapesDirectory + "/" + digest.hex + ".json" }

    /// Records the object's shape (write to tmp/, rename); an existing shape is left as it is.
    func writeShape(_ manifest: ArtifactManifest, digest: Digest) throws {
        let destination = shapePath(digest)
        if POSIX.exists(destination) { return }
        try POSIX.makeDirectories(shapesDirectory)
        let bytes = [UInt8](try StoreJSON.encoder().encode(ObjectShape(manifest)))
        let temporary = temporaryDirectory + "/shape~\(POSIX.hostName)~\(getpid())~\(POSIX.randomHex())~\(digest.short).json"
        try POSIX.writeNewFile(temporary, bytes, sync: false)
        let code = POSIX.rename(temporary, destination)
        if code != 0 { unlink(temporary); throw POSIX.fail("rename object shape", destination, code) }
    }

    /// A cheap check of an object against the shape recorded at ingest (stat calls only): nil when
    /// it matches or when no shape was recorded (objects from older stores), else what is wrong.
    public func objectDamage(_ digest: Digest) -> String? {
        guard let bytes = try? POSIX.readFile(shapePath(digest)),
              let shape = try? StoreJSON.decoder().decode(ObjectShape.self, from: Data(bytes)) else { return nil }
        return shape.damage(at: objectPath(digest))
    }

    /// The full check: re-hashes the object; nil when its content still has its digest.
    public func objectCorruption(_ digest: Digest) -> String? {
        if let damage = objectDamage(digest) { return damage }
        do {
            let actual = try ArtifactScanner(statCache: nil).manifest(ofPath: objectPath(digest)).digest
            return actual == digest ? nil : "its content hashes to \(actual.short)"
        } catch {
            return "\(error)"
        }
    }
}
