import Foundation
import Hashing

/// Walks a file or directory and builds its `ArtifactManifest`, hashing file contents (through the
/// stat cache when one is given; files that miss are hashed in parallel across cores).
struct ArtifactScanner {
    var statCache: StatCache?

    func manifest(ofPath path: String) throws -> ArtifactManifest {
        guard let status = try POSIX.status(path, followSymlinks: true) else {
            throw StoreError.missingArtifact(path: path)
        }
        if status.isRegularFile {
            let content = try fileDigest(path: path, status: status)
            return ArtifactManifest(root: .file(size: content.size, digest: content.digest, executable: status.isExecutable))
        }
        guard status.isDirectory else {
            throw StoreError.invalidArtifact(path: path, reason: "only regular files and directories can be artifacts")
        }
        var entries: [ArtifactManifest.Entry] = []
        var pending: [PendingFile] = []
        let rootReal = try realPath(path)
        try walk(directory: path, relative: "", rootReal: rootReal, entries: &entries, pending: &pending)
        let hashed = try hashAll(pending)
        for (file, result) in zip(pending, hashed) {
            entries[file.entryIndex] = .file(path: file.relative, size: result.size, digest: result.digest,
                                             executable: file.status.isExecutable)
        }
        entries.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        return ArtifactManifest(root: .tree(entries))
    }

    private struct PendingFile: Sendable {
        var entryIndex: Int
        var absolute: String
        var relative: String
        var status: FileStatus
    }

    private func walk(directory: String, relative: String, rootReal: String,
                      entries: inout [ArtifactManifest.Entry], pending: inout [PendingFile]) throws {
        for name in try POSIX.listDirectory(directory) {
            let absolute = directory + "/" + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            guard let status = try POSIX.status(absolute) else { continue }  // vanished while listing
            if status.isDirectory {
                entries.append(.directory(path: rel))
                try walk(directory: absolute, relative: rel, rootReal: rootReal, entries: &entries, pending: &pending)
            } else if status.isRegularFile {
                pending.append(PendingFile(entryIndex: entries.count, absolute: absolute, relative: rel, status: status))
                entries.append(.directory(path: rel))  // placeholder, replaced once hashed
            } else if status.isSymlink {
                entries.append(.symlink(path: rel, target: try checkedSymlinkTarget(absolute, rootReal: rootReal)))
            } else {
                throw StoreError.invalidArtifact(path: absolute, reason: "is a FIFO, socket or device; only regular files, directories and in-tree symlinks can be stored")
            }
        }
    }

    private func checkedSymlinkTarget(_ link: String, rootReal: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(link, &buffer, buffer.count - 1)
        guard length >= 0 else { throw POSIX.fail("readlink", link) }
        let target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if target.hasPrefix("/") {
            throw StoreError.invalidArtifact(path: link, reason: "symlink to absolute path '\(target)'; artifacts may only contain relative symlinks that stay inside the artifact (copy the file instead)")
        }
        guard let resolved = try? realPath(link) else {
            throw StoreError.invalidArtifact(path: link, reason: "dangling symlink to '\(target)'; remove it or point it at a file inside the artifact")
        }
        guard resolved == rootReal || resolved.hasPrefix(rootReal + "/") else {
            throw StoreError.invalidArtifact(path: link, reason: "symlink '\(target)' points outside the artifact (to \(resolved)); copy the file instead")
        }
        return target
    }

    private func realPath(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else { throw POSIX.fail("realpath", path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private struct ContentDigest: Sendable { var digest: Digest; var size: Int64 }

    private func fileDigest(path: String, status: FileStatus) throws -> ContentDigest {
        if let cache = statCache, let digest = cache.lookup(status) {
            return ContentDigest(digest: digest, size: status.size)
        }
        let result = try FileHasher.hash(path: path)
        if let cache = statCache {
            cache.insert(before: result.statusBefore, after: try POSIX.status(path, followSymlinks: true), digest: result.digest)
        }
        return ContentDigest(digest: result.digest, size: result.size)
    }

    /// Cache hits are answered inline; misses are hashed on all cores when there are several.
    private func hashAll(_ files: [PendingFile]) throws -> [ContentDigest] {
        var results = [ContentDigest?](repeating: nil, count: files.count)
        var misses: [Int] = []
        for (index, file) in files.enumerated() {
            if let cache = statCache, let digest = cache.lookup(file.status) {
                results[index] = ContentDigest(digest: digest, size: file.status.size)
            } else {
                misses.append(index)
            }
        }
        if misses.count == 1 {
            results[misses[0]] = try fileDigest(path: files[misses[0]].absolute, status: files[misses[0]].status)
        } else if misses.count > 1 {
            let slots = ResultSlots(count: misses.count)
            let scanner = self
            let misses = misses
            DispatchQueue.concurrentPerform(iterations: misses.count) { slot in
                let file = files[misses[slot]]
                do {
                    slots.set(slot, .success(try scanner.fileDigest(path: file.absolute, status: file.status)))
                } catch {
                    slots.set(slot, .failure(error))
                }
            }
            for (slot, value) in slots.values().enumerated() { results[misses[slot]] = try value.get() }
        }
        return results.map { $0! }
    }

    private final class ResultSlots: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [Result<ContentDigest, any Error>?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ value: Result<ContentDigest, any Error>) {
            lock.lock(); slots[index] = value; lock.unlock()
        }
        func values() -> [Result<ContentDigest, any Error>] { slots.map { $0! } }
    }
}

extension ArtifactScanner: @unchecked Sendable {}
