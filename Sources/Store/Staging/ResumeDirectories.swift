import Foundation
import Hashing

/// `resume/<key>/`: a directory kept for one stage key across executions, where a training stage keeps
/// its checkpoints so that running the same key again after a kill, a Ctrl-C or a Slurm preemption
/// continues instead of starting over. Only the holder of the key's lock uses it; it is removed when
/// the key's result is committed, and `gc` removes those of finished keys and long-abandoned ones.
/// Never a result: nothing in it is ever read as an output.
extension ArtifactStore {
    public var resumeDirectoriesRoot: String { root + "/resume" }

    public func resumePath(forKey key: Digest) -> String { resumeDirectoriesRoot + "/" + key.hex }

    /// The key's resume directory, created if needed.
    public func resumeDirectory(forKey key: Digest) throws -> String {
        let path = resumePath(forKey: key)
        try POSIX.makeDirectories(path)
        return path
    }

    /// Removes the key's resume directory (after its result is committed). It is renamed into tmp/
    /// first, so a kill part-way through leaves the directory whole or gone, never a checkpoint
    /// pointer without its checkpoint or a work ledger without the checkpoints it counts on (what
    /// is left in tmp/ is cleaned like dead staging).
    public func removeResumeDirectory(forKey key: Digest) {
        let path = resumePath(forKey: key)
        guard POSIX.exists(path) else { return }
        try? removeWhole(path, label: "resume-done")
    }

    /// Removes a file or tree of the store by renaming it into tmp/ first, then deleting it there:
    /// a kill part-way through leaves it whole or gone, never a partial object or checkpoint that
    /// still looks like one (what is left in tmp/ is cleaned like dead staging). Falls back to
    /// deleting in place when the rename fails (a read-only parent).
    func removeWhole(_ path: String, label: String) throws {
        guard let status = try POSIX.status(path) else { return }
        // Moving a directory to a new parent updates its "..": that needs write permission on it.
        if status.isDirectory, status.mode & 0o200 == 0 { chmod(path, mode_t(status.mode | 0o700)) }
        let host = POSIX.hostName.replacingOccurrences(of: "~", with: "_")
        let doomed = temporaryDirectory + "/\(host)~\(getpid())~\(POSIX.randomHex())~\(label)"
        let code = POSIX.rename(path, doomed)
        if code == ENOENT { return }
        try POSIX.removeTree(code == 0 ? doomed : path)
    }

    /// Keys that have a resume directory.
    public func resumeKeys() -> [Digest] {
        ((try? POSIX.listDirectory(resumeDirectoriesRoot)) ?? []).compactMap(Digest.init(hex:)).sorted { $0.hex < $1.hex }
    }
}
