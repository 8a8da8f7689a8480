import Foundation
import Hashing
import Store

/// Store helpers for runner and end-to-end tests: damage objects and records the way disks and
/// careless users do, to test `pipe verify`, rebuilds and corrupt-record handling.
public enum StoreFixtures {
    /// Flips one byte of the first regular file (sorted by path) inside `objects/<digest>`, working
    /// around the object's read-only permissions. Returns the damaged file's path.
    @discardableResult
    public static func flipByte(inObject digest: Digest, of store: ArtifactStore, at offset: Int = 0) throws -> String {
        let object = store.objectPath(digest)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: object, isDirectory: &isDirectory) else {
            throw StoreError.missingArtifact(path: object)
        }
        var file = object
        if isDirectory.boolValue {
            let files = (FileManager.default.enumerator(atPath: object)?.allObjects as? [String] ?? [])
                .filter { relative in
                    var dir: ObjCBool = false
                    return FileManager.default.fileExists(atPath: object + "/" + relative, isDirectory: &dir) && !dir.boolValue
                }
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            guard let first = files.first else { throw StoreError.invalidArtifact(path: object, reason: "has no file to damage") }
            file = object + "/" + first
        }
        let parent = (file as NSString).deletingLastPathComponent
        chmod(parent, 0o755)
        chmod(file, 0o644)
        defer {
            chmod(file, 0o444)
            if isDirectory.boolValue { chmod(parent, 0o555) }
        }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        guard !bytes.isEmpty else { throw StoreError.invalidArtifact(path: file, reason: "is empty; nothing to flip") }
        bytes[min(offset, bytes.count - 1)] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Cuts `stages/<key>.json` to half its length (a torn write, as a crash without fsync could leave).
    public static func truncateRecord(forKey key: Digest, of store: ArtifactStore) throws {
        let path = store.recordPath(forKey: key)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
    }
}
