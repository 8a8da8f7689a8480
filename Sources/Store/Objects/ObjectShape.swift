import Foundation
import Hashing

/// `shapes/<digest>`: the entry list and file sizes of an object, written when it is ingested.
///
/// A cache hit compares the object against it with one directory walk and `lstat` per entry (no
/// hashing), so a file deleted, added or truncated inside a directory object is found before the
/// object is handed to a stage or exported. Edits that keep every size are `pipe verify`'s job (it
/// re-hashes everything).
///
/// Format (text, one entry per line, in manifest order): `f <size> <path>`, `d 0 <path>` or
/// `l 0 <path>`, where `<path>` is written as `<byte count>:<bytes>` (names may hold any byte but
/// NUL and `/`, newlines included); a file object is the single line `f <size> 0:`.
struct ObjectShape: Sendable, Equatable {
    enum Kind: UInt8, Sendable { case file = 0x66, directory = 0x64, symlink = 0x6C }  // f d l
    struct Entry: Sendable, Equatable { var kind: Kind; var size: Int64 }

    /// Relative path → entry ("" for a file object itself).
    var entries: [String: Entry]

    init(_ manifest: ArtifactManifest) {
        switch manifest.root {
        case let .file(size, _, _):
            entries = ["": Entry(kind: .file, size: size)]
        case let .tree(items):
            var entries: [String: Entry] = [:]
            for item in items {
                switch item {
                case let .file(path, size, _, _): entries[path] = Entry(kind: .file, size: size)
                case let .directory(path): entries[path] = Entry(kind: .directory, size: 0)
                case let .symlink(path, _): entries[path] = Entry(kind: .symlink, size: 0)
                }
            }
            self.entries = entries
        }
    }

    init?(encoded bytes: [UInt8]) {
        var entries: [String: Entry] = [:]
        var index = 0
        func number(until terminator: UInt8) -> Int64? {
            var value: Int64 = 0, digits = 0
            while index < bytes.count, bytes[index] != terminator {
                guard bytes[index] >= 48, bytes[index] <= 57, digits < 18 else { return nil }
                value = value * 10 + Int64(bytes[index] - 48)
                index += 1; digits += 1
            }
            guard index < bytes.count, digits > 0 else { return nil }
            index += 1
            return value
        }
        while index < bytes.count {
            guard let kind = Kind(rawValue: bytes[index]), index + 1 < bytes.count, bytes[index + 1] == 0x20 else { return nil }
            index += 2
            guard let size = number(until: 0x20), let length = number(until: 0x3A) else { return nil }
            let end = index + Int(length)
            guard end < bytes.count, bytes[end] == 0x0A, let path = String(validating: bytes[index..<end], as: UTF8.self) else { return nil }
            entries[path] = Entry(kind: kind, size: size)
            index = end + 1
        }
        self.entries = entries
    }

    var encoded: [UInt8] {
        var out: [UInt8] = []
        for path in entries.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let entry = entries[path]!
            out.append(entry.kind.rawValue)
            out += Array(" \(entry.size) \(path.utf8.count):".utf8) + Array(path.utf8)
            out.append(0x0A)
        }
        return out
    }

    /// What differs between `path` and this shape (the first problem found), nil when it matches.
    func damage(at path: String) -> String? {
        damage(at: path, status: (try? POSIX.status(path)) ?? nil)
    }

    /// The same with the object's `lstat` already taken (nil: it is missing).
    func damage(at path: String, status: FileStatus?) -> String? {
        guard let status else { return "it is missing" }
        if let root = entries[""] {
            guard status.isRegularFile else { return "it is no longer a file" }
            return status.size == root.size ? nil : "it has \(status.size) bytes, expected \(root.size)"
        }
        guard status.isDirectory else { return "it is no longer a directory" }
        var seen = 0
        if let problem = walk(path, relative: "", seen: &seen) { return problem }
        guard seen == entries.count else {
            // Every entry found was expected, so some expected ones are missing: name the first.
            let missing = entries.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).first { name in
                (try? POSIX.status(path + "/" + name)) ?? nil == nil
            }
            return missing.map { "\(entries[$0]!.kind.word) '\($0)' is missing" } ?? "it has \(seen) entries, expected \(entries.count)"
        }
        return nil
    }

    /// Checks every entry under `directory` against the shape; counts them in `seen`.
    private func walk(_ directory: String, relative: String, seen: inout Int) -> String? {
        guard let names = try? POSIX.listDirectory(directory) else { return "directory '\(relative)' cannot be read" }
        for name in names {
            let rel = relative.isEmpty ? name : relative + "/" + name
            guard let expected = entries[rel] else { return "'\(rel)' is not part of it" }
            guard let status = try? POSIX.status(directory + "/" + name) else { return "\(expected.kind.word) '\(rel)' is missing" }
            seen += 1
            switch expected.kind {
            case .file:
                guard status.isRegularFile else { return "file '\(rel)' is no longer a file" }
                if status.size != expected.size { return "file '\(rel)' has \(status.size) bytes, expected \(expected.size)" }
            case .symlink:
                guard status.isSymlink else { return "symlink '\(rel)' is no longer a symlink" }
            case .directory:
                guard status.isDirectory else { return "directory '\(rel)' is no longer a directory" }
                if let problem = walk(directory + "/" + name, relative: rel, seen: &seen) { return problem }
            }
        }
        return nil
    }
}

extension ObjectShape.Kind {
    var word: String {
        switch self {
        case .file: "file"
        case .directory: "directory"
        case .symlink: "symlink"
        }
    }
}

extension ArtifactStore {
    public var shapesDirectory: String { root + "/shapes" }

    func shapePath(_ digest: Digest) -> String { shapesDirectory + "/" + digest.hex }

    /// Records the object's shape (write to tmp/, rename); an existing shape is left as it is
    /// unless `replacing` (it was found damaged).
    func writeShape(_ manifest: ArtifactManifest, digest: Digest, replacing: Bool = false) throws {
        let destination = shapePath(digest)
        if !replacing && POSIX.exists(destination) { return }
        try POSIX.makeDirectories(shapesDirectory)
        let bytes = ObjectShape(manifest).encoded
        let temporary = temporaryDirectory + "/shape~\(POSIX.hostName)~\(getpid())~\(POSIX.randomHex())~\(digest.short)"
        try POSIX.writeNewFile(temporary, bytes, sync: false)
        let code = POSIX.rename(temporary, destination)
        if code != 0 { unlink(temporary); throw POSIX.fail("rename object shape", destination, code) }
    }

    /// A cheap check of an object against the shape recorded at ingest (stat calls only): nil when
    /// it matches or when no shape was recorded (objects from older stores), else what is wrong.
    public func objectDamage(_ digest: Digest) -> String? {
        objectDamage(digest, shapeBytes: shapeFileBytes(digest))
    }

    /// The bytes of the object's shape file; nil when none was recorded (or it cannot be read).
    func shapeFileBytes(_ digest: Digest) -> [UInt8]? { (try? POSIX.readFile(shapePath(digest))) ?? nil }

    /// `objectDamage` with the shape file already read (`shapeBytes`) and optionally the object's
    /// `lstat` taken (`status`; `.some(nil)` means it is missing).
    ///
    /// A mismatch is confirmed before it is reported: the shape file itself may be the damaged
    /// thing (cut off, emptied), and taking a good object for damage would quarantine it and rebuild
    /// everything built from it. So the object is re-hashed (only then: mismatches are rare); when
    /// it still has its digest, the shape is written again and the object is sound.
    func objectDamage(_ digest: Digest, shapeBytes: [UInt8]?, status: FileStatus?? = .none) -> String? {
        guard let shapeBytes, let shape = ObjectShape(encoded: shapeBytes) else { return nil }
        let path = objectPath(digest)
        let found: String?
        if let status { found = shape.damage(at: path, status: status) } else { found = shape.damage(at: path) }
        guard let damage = found else { return nil }
        // A shape remembered from an earlier read may be older than a repaired shape file.
        if let current = shapeFileBytes(digest), current != shapeBytes, let repaired = ObjectShape(encoded: current),
           repaired.damage(at: path) == nil { return nil }
        guard let status = (try? POSIX.status(path)) ?? nil, !status.isSymlink,
              let manifest = try? ArtifactScanner(statCache: nil).manifest(ofPath: path), manifest.digest == digest else { return damage }
        do {
            try writeShape(manifest, digest: digest, replacing: true)
            warnOnce("the shape file \(shapePath(digest)) did not match its intact object (by the shape, \(damage)); wrote it again")
        } catch {
            warnOnce("the shape file \(shapePath(digest)) is damaged and could not be written again (\(error)); its object is intact")
        }
        return nil
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

