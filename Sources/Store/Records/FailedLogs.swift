import Foundation

extension ArtifactStore {
    /// `logs/failed/`: the logs of stages that failed. A failed stage leaves no object behind, so its
    /// log is kept here, one directory per run (or sweep), for `pipe log` and the user to read.
    public var failedLogsDirectory: String { root + "/logs/failed" }

    /// `logs/failed/<run>/<stage>.log`: where the log of `stage`, failed in `run`, is kept (`/` in a
    /// stage name becomes `_`).
    public func failedLogPath(run: String, stage: String) -> String {
        failedLogsDirectory + "/" + run.replacingOccurrences(of: "/", with: "_") + "/"
            + stage.replacingOccurrences(of: "/", with: "_") + ".log"
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
