import Foundation
import Hashing

/// Per-key exclusive locks: `locks/<key>.lock`, locked with `flock(2)`.
///
/// Why flock: the kernel drops the lock when the holder dies (crash-safe, nothing to clean up), it
/// is per open file (two threads that each open the file exclude each other), and on Linux NFS
/// clients (v3 with lockd/NLM, v4) `flock` is emulated with whole-file POSIX byte-range locks that the
/// server arbitrates, so it excludes processes on *other nodes* too. On NFS those emulated locks are
/// per process, so this process also keeps an in-memory table of held keys (`ProcessKeyLocks`) and
/// never has two threads hold the same key file. If an NFS node dies, its locks are released when
/// the server's lease/grace period runs out.
///
/// What the shared filesystem must support: POSIX advisory locks shared between clients (NFSv4, or
/// NFSv3 with lockd; not `nolock`/`local_lock=flock`), Lustre mounted with `-o flock`, BeeGFS with
/// global locking; atomic `rename` within one directory; `fsync`. Lock files are deleted only by gc,
/// while holding them; a locker that finds its locked file unlinked retries on the new one.
///
/// No global lock exists: a lock is held only while its own key is being built.
public final class KeyLock: @unchecked Sendable {
    public let key: String
    public let path: String
    private var descriptor: Int32
    private let table: ProcessKeyLocks
    private let mutex = NSLock()

    init(key: String, path: String, descriptor: Int32, table: ProcessKeyLocks) {
        self.key = key; self.path = path; self.descriptor = descriptor; self.table = table
    }

    /// The locked descriptor (-1 once unlocked). A child process that inherits it holds the lock
    /// as long as it lives, even if this process dies (flock locks belong to the open file).
    public var fileDescriptor: Int32 {
        mutex.lock(); defer { mutex.unlock() }
        return descriptor
    }

    /// Releases the lock (idempotent; also done on deinit).
    public func unlock() {
        mutex.lock(); defer { mutex.unlock() }
        guard descriptor >= 0 else { return }
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
        table.release(key)
    }

    deinit { unlock() }
}

/// Keys held by this process, so two threads never both hold one key file (see `KeyLock`).
final class ProcessKeyLocks: @unchecked Sendable {
    private let condition = NSCondition()
    private var held: Set<String> = []

    func tryAcquire(_ key: String) -> Bool {
        condition.lock(); defer { condition.unlock() }
        return held.insert(key).inserted
    }

    func acquire(_ key: String) {
        condition.lock(); defer { condition.unlock() }
        while held.contains(key) { condition.wait() }
        held.insert(key)
    }

    func release(_ key: String) {
        condition.lock(); defer { condition.unlock() }
        held.remove(key)
        condition.broadcast()
    }
}

extension ArtifactStore {
    public func lockPath(forKey key: String) -> String { locksDirectory + "/" + key + ".lock" }

    /// Takes the lock for `key` if nobody holds it; nil when another process or thread does.
    public func tryLock(key: Digest) throws -> KeyLock? { try tryLock(name: key.hex) }

    /// Waits until the lock for `key` is free, then takes it.
    public func lock(key: Digest) throws -> KeyLock { try lock(name: key.hex) }

    /// Runs `body` holding the lock for `key`. Typical use: inside, look for the record again (another
    /// process may have built the key while we waited) and build only if it is still missing.
    public func withLock<T>(key: Digest, _ body: () throws -> T) throws -> T {
        let held = try lock(key: key)
        defer { held.unlock() }
        return try body()
    }

    /// On a network filesystem, makes this client re-read stages/ so a record another node renamed
    /// into place while we waited for its lock is seen (NFS caches "file absent" answers for up to a
    /// minute; opening the directory revalidates it, close-to-open). Called after every blocking
    /// acquire; best effort — at worst a key is built twice, and both builds are identical.
    func revalidateRecords() {
        guard isNetworkFilesystem, let directory = opendir(stagesDirectory) else { return }
        _ = readdir(directory)
        closedir(directory)
    }

    /// Who holds (or last held) the lock for `key`: "pid@host", for "waiting for ..." messages.
    public func lockHolder(key: Digest) -> String? {
        guard let bytes = try? POSIX.readFile(lockPath(forKey: key.hex)), !bytes.isEmpty else { return nil }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Locks by arbitrary name (letters, digits, `-`, `_`, `.`), for callers that lock something other
    /// than a stage key.
    public func tryLock(name: String) throws -> KeyLock? {
        try Self.checkLockName(name)
        guard keyLocks.tryAcquire(name) else { return nil }
        do {
            while true {
                let fd = try openLockFile(name)
                if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                    let code = errno
                    close(fd)
                    if code == EWOULDBLOCK || code == EAGAIN || code == EINTR {
                        keyLocks.release(name)
                        return nil
                    }
                    throw POSIX.fail("flock", lockPath(forKey: name), code)
                }
                if isCurrentLockFile(fd, name) { return held(name, fd) }
                close(fd)  // gc removed the file while we opened it: lock the new one
            }
        } catch {
            keyLocks.release(name)
            throw error
        }
    }

    public func lock(name: String) throws -> KeyLock {
        try Self.checkLockName(name)
        keyLocks.acquire(name)
        do {
            while true {
                let fd = try openLockFile(name)
                while flock(fd, LOCK_EX) != 0 {
                    if errno == EINTR { continue }
                    let code = errno
                    close(fd)
                    throw POSIX.fail("flock", lockPath(forKey: name), code)
                }
                if isCurrentLockFile(fd, name) {
                    revalidateRecords()
                    return held(name, fd)
                }
                close(fd)
            }
        } catch {
            keyLocks.release(name)
            throw error
        }
    }

    /// True when the locked descriptor is still the file at the lock path. Lock files may be
    /// removed by gc (only while gc holds them); a process that opened the old file before the
    /// removal must not count the lock on the unlinked file as the key's lock.
    private func isCurrentLockFile(_ fd: Int32, _ name: String) -> Bool {
        var opened = stat()
        guard fstat(fd, &opened) == 0, let current = try? POSIX.status(lockPath(forKey: name)) else { return false }
        return UInt64(opened.st_ino) == current.inode && UInt64(opened.st_dev) == current.device
    }

    /// Removes the lock file of `key` if nobody holds it (gc). Safe against concurrent lockers, see
    /// `isCurrentLockFile`.
    func removeLockFileIfFree(name: String) -> Bool {
        guard let lock = try? tryLock(name: name) else { return false }
        defer { lock.unlock() }
        return unlink(lockPath(forKey: name)) == 0
    }

    private func openLockFile(_ name: String) throws -> Int32 {
        let path = lockPath(forKey: name)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIX.fail("open lock file", path) }
        return fd
    }

    private func held(_ name: String, _ fd: Int32) -> KeyLock {
        // Best effort: record the holder for diagnostics.
        let note = Array("\(getpid())@\(POSIX.hostName)\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = note.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
        return KeyLock(key: name, path: lockPath(forKey: name), descriptor: fd, table: keyLocks)
    }

    static func checkLockName(_ name: String) throws {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard allowed, !name.isEmpty, !name.hasPrefix(".") else {
            throw StoreError.invalidArtifact(path: name, reason: "lock names may use only letters, digits, '-', '_' and '.'")
        }
    }
}
