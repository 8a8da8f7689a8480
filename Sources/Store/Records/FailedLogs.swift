import Foundation
import Hashing

extension ArtifactStore {
    /// `logs/failed/`: the logs of stages that failed. A failed stage leaves no object behind, so its
    /// log is kept here, one directory per run (or sweep), for `pipe log` and the user to read.
    public var failedLogsDirectory: String { root + "/logs/failed" }

    /// `logs/failed/<run>/<stage>.log`: where the log of `stage`, failed in `run`, is kept (`/` in a
    /// stage name becomes `_`; a name too long for a file name is cut and ends in a hash of the whole).
    public func failedLogPath(run: String, stage: String) -> String {
        failedLogsDirectory + "/" + Self.fileName(run.replacingOccurrences(of: "/", with: "_")) + "/"
            + Self.fileName(stage.replacingOccurrences(of: "/", with: "_")) + ".log"
    }

    /// Longest name, in UTF-8 bytes, used as is for a file; file systems allow 255 bytes in all.
    static let maxFileNameBytes = 200

    /// `name`, or for a long one (a long stage name, a sweep variant with long values) its first
    /// characters, `~` and 16 hex digits of the whole name's SHA-256: distinct names stay distinct.
    static func fileName(_ name: String) -> String {
        guard name.utf8.count > maxFileNameBytes else { return name }
        var head = ""
        for character in name {
            guard head.utf8.count + character.utf8.count <= maxFileNameBytes - 17 else { break }
            head.append(character)
        }
        return head + "~" + String(SHA256.hash(name).hex.prefix(16))
    }

    /// Copies a failed stage's log to `failedLogPath(run:stage:)`, replacing an older copy. Returns
    /// the copy's path, or nil when it could not be written (the run goes on; only the log is lost).
    @discardableResult
    public func keepFailedLog(_ log: String, run: String, stage: String) -> String? {
        let destination = failedLogPath(run: run, stage: stage)
        guard (try? POSIX.makeDirectories(POSIX.parentDirectory(destination))) != nil else { return nil }
        try? FileManager.default.removeItem(atPath: destination)
        return (try? FileManager.default.copyItem(atPath: log, toPath: destination)) != nil ? destination : nil
    }
}
