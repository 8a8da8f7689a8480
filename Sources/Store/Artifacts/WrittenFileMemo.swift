import Foundation
import Hashing

/// `statcache/<host>.written`: for files pipe derives from known inputs (lock files), a fingerprint
/// of those inputs and the file's identity (device, inode, size, mtime ns, ctime ns) when it was
/// last known to hold exactly what they render to. A no-op rerun whose fingerprint and file are
/// unchanged skips rendering and comparing the file (1.8 MB for a 512-variant sweep).
///
/// Only a shortcut, in the `KeyedBinaryFile` format: any change to the file (an edit, a checkout)
/// changes its identity and the file is rendered and compared again. A file modified within the
/// racy window before it was checked is not remembered (see `StatCache`), so an edit in the same
/// timestamp tick as pipe's own write cannot hide behind an unchanged identity.
public final class WrittenFileMemo: @unchecked Sendable {
    static let magic = "PIPEWFM1"
    static let keySize = 32
    static let maxEntries = 10_000

    let file: KeyedBinaryFile
    private let lock = NSLock()
    private var disk: KeyedBinaryFile.Image
    private var loaded = false
    private var added: [[UInt8]: [UInt8]] = [:]

    init(path: String) {
        file = KeyedBinaryFile(path: path, magic: Self.magic, keySize: Self.keySize, maxEntries: Self.maxEntries)
        disk = KeyedBinaryFile.Image(keySize: Self.keySize)
    }

    /// True when `path` still has the identity it had when it was remembered with `fingerprint`.
    public func isCurrent(_ path: String, fingerprint: Digest) -> Bool {
        guard let status = try? POSIX.status(path, followSymlinks: true) else { return false }
        let key = Self.key(path)
        lock.lock(); defer { lock.unlock() }
        if !loaded { loaded = true; disk = file.load() }
        let expected = Self.payload(status, fingerprint)
        if let entry = added[key] {
            return entry.withUnsafeBytes { file.intactPayload($0, at: 0).map { entry[$0].elementsEqual(expected) } ?? false }
        }
        guard let at = disk.offset(of: key) else { return false }
        return disk.bytes.withUnsafeBytes { bytes in
            file.intactPayload(bytes, at: at).map { bytes[$0].elementsEqual(expected) } ?? false
        }
    }

    /// Remembers that `path`, as it is now, holds what `fingerprint` renders to (the caller has
    /// just written or compared it). Nothing is remembered for a missing or too recent file.
    public func remember(_ path: String, fingerprint: Digest) {
        remember(path, fingerprint: fingerprint, now: POSIX.nowNanoseconds())
    }

    func remember(_ path: String, fingerprint: Digest, now: Int64) {
        guard let status = try? POSIX.status(path, followSymlinks: true) else { return }
        guard now - max(status.modifiedNanoseconds, status.changedNanoseconds) >= StatCache.racyWindow(status) else { return }
        let key = Self.key(path)
        let entry = file.encodeEntry(key: key, addedAt: now / 1_000_000_000, payload: Self.payload(status, fingerprint))
        lock.lock(); defer { lock.unlock() }
        added[key] = entry
    }

    /// Merges what was remembered into the file (other processes' entries kept).
    func save(temporaryDirectory: String) throws {
        lock.lock(); defer { lock.unlock() }
        guard !added.isEmpty else { return }
        disk = try file.save(adding: added, temporaryDirectory: temporaryDirectory)
        loaded = true
        added = [:]
    }

    /// SHA-256 of the absolute path.
    static func key(_ path: String) -> [UInt8] {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return SHA256.hash(absolute).bytes
    }

    static func payload(_ status: FileStatus, _ fingerprint: Digest) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(40 + 32)
        for value in [status.device, status.inode, UInt64(bitPattern: status.size), UInt64(bitPattern: status.modifiedNanoseconds),
                      UInt64(bitPattern: status.changedNanoseconds)] {
            KeyedBinaryFile.appendU64(&out, value)
        }
        return out + fingerprint.bytes
    }
}

extension ArtifactStore {
    /// Saves the written-file memo; failure is a warning (the files are only rendered again).
    public func saveWrittenFileMemo() {
        do { try writtenFileMemo.save(temporaryDirectory: temporaryDirectory) }
        catch { warn("could not save \(writtenFileMemo.file.path) (\(error)); lock files will be rendered again next time") }
    }
}
