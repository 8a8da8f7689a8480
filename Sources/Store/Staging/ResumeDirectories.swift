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
        let host = POSIX.hostName.replacingOccurrences(of: "~", with: "_")
        let doomed = temporaryDirectory + "/\(host)~\(getpid())~\(POSIX.randomHex())~resume-done"
        try? POSIX.removeTree(POSIX.rename(path, doomed) == 0 ? doomed : path)
    }

    /// Keys that have a resume directory.
    public func resumeKeys() -> [Digest] {
        ((try? POSIX.listDirectory(resumeDirectoriesRoot)) ?? []).compactMap(Digest.init(hex:)).sorted { $0.hex < $1.hex }
    }
}
