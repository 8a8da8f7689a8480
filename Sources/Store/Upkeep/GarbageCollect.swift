import Foundation
import Hashing

/// What `garbageCollect` removed (or, in a dry run, would remove).
public struct GCReport: Sendable, Equatable {
    public var dryRun: Bool
    public var removedRecords: [Digest]
    public var removedObjects: [Digest]
    /// Runs (or sweeps) whose `logs/failed/<run>/` directory was removed.
    public var removedFailedLogs: [String] = []
    /// Keys whose `resume/<key>/` checkpoints were removed (finished, or abandoned past `keepResume`).
    public var removedResume: [Digest] = []
    public var freedBytes: Int64
    public var keptRecords: Int
    public var keptObjects: Int
}

extension ArtifactStore {
    /// Removes stage records whose key is not in `keepKeys` and every object no kept record names
    /// (outputs, logs and the inputs it read) and that is not in `keepObjects`, and the failed-stage logs of every run
    /// not in `keepFailedLogs`; also empties quarantine/ and removes the unheld lock files of keys
    /// without a record.
    ///
    /// Safe next to running `pipe` processes: anything younger than `grace` (records, objects) is
    /// kept, since it may belong to a run that has ingested outputs but not yet committed its record;
    /// objects named by young records are kept too.
    /// - Parameters:
    ///   - keepKeys: stage keys to keep (e.g. `registry.stageKeys(ofRuns:)` of the last N runs, plus
    ///     keys named by lock files).
    ///   - keepFailedLogs: run (and sweep) ids whose `logs/failed/<id>/` to keep.
    ///   - dryRun: report only; delete nothing.
    public func garbageCollect(keepKeys: Set<Digest>, keepObjects: Set<Digest> = [], keepFailedLogs: Set<String> = [],
                               dryRun: Bool, grace: Duration = .seconds(3600),
                               keepResume: Duration = .seconds(7 * 24 * 3600)) throws -> GCReport {
        let now = POSIX.nowNanoseconds()
        let graceNanoseconds = grace.components.seconds * 1_000_000_000 + grace.components.attoseconds / 1_000_000_000
        func isYoung(_ path: String) -> Bool {
            guard let status = try? POSIX.status(path) else { return true }
            return now - max(status.modifiedNanoseconds, status.changedNanoseconds) < graceNanoseconds
        }
        var report = GCReport(dryRun: dryRun, removedRecords: [], removedObjects: [], freedBytes: 0, keptRecords: 0, keptObjects: 0)
        var live = keepObjects
        for key in try allRecordKeys() {
            let path = recordPath(forKey: key)
            let record = (try? POSIX.readFile(path)).flatMap { $0 }.flatMap { try? StageRecord.decode($0) }
            if keepKeys.contains(key) || isYoung(path) {
                report.keptRecords += 1
                if let record { live.formUnion(record.referencedObjects); live.formUnion(record.inputObjects) }
            } else {
                report.removedRecords.append(key)
                if !dryRun { try removeRecord(forKey: key) }
            }
        }
        for name in try POSIX.listDirectory(objectsDirectory).sorted() {
            guard let digest = Digest(hex: name) else { continue }
            let path = objectsDirectory + "/" + name
            if live.contains(digest) || isYoung(path) {
                report.keptObjects += 1
                continue
            }
            report.removedObjects.append(digest)
            report.freedBytes += Self.diskUsage(path)
            if !dryRun {
                try removeWhole(path, label: "gc")
                unlink(shapePath(digest))
            }
        }
        if !dryRun {
            // Shapes of objects that are gone (quarantined, or a crash between writing both).
            for name in (try? POSIX.listDirectory(shapesDirectory)) ?? [] {
                guard let digest = Digest(hex: name), !hasObject(digest),
                      !isYoung(shapesDirectory + "/" + name) else { continue }
                unlink(shapesDirectory + "/" + name)
            }
        }
        if POSIX.exists(failedLogsDirectory) {
            for name in try POSIX.listDirectory(failedLogsDirectory).sorted() {
                let path = failedLogsDirectory + "/" + name
                if keepFailedLogs.contains(name) || isYoung(path) { continue }
                report.removedFailedLogs.append(name)
                report.freedBytes += Self.diskUsage(path)
                if !dryRun { try POSIX.removeTree(path) }
            }
        }
        // Checkpoints of finished keys go; those of unfinished keys stay for `keepResume` after their
        // last checkpoint (a rerun continues from them), unless a stage is using them right now.
        let resumeNanoseconds = keepResume.components.seconds * 1_000_000_000
        for key in resumeKeys() {
            let path = resumePath(forKey: key)
            let finished = POSIX.exists(recordPath(forKey: key))
            let modified = (try? POSIX.status(path)).map { max($0.modifiedNanoseconds, $0.changedNanoseconds) } ?? now
            guard finished || now - modified >= resumeNanoseconds else { continue }
            guard let lock = try? tryLock(key: key) else { continue }   // in use by a running stage
            report.removedResume.append(key)
            report.freedBytes += Self.diskUsage(path)
            if !dryRun { try? removeWhole(path, label: "gc-resume") }
            lock.unlock()
        }
        if !dryRun {
            // Lock files of keys that no longer have a record (and that nobody holds right now).
            for name in try POSIX.listDirectory(locksDirectory) where name.hasSuffix(".lock") {
                let key = String(name.dropLast(5))
                if let digest = Digest(hex: key), POSIX.exists(recordPath(forKey: digest)) { continue }
                _ = removeLockFileIfFree(name: key)
            }
        }
        if !dryRun, POSIX.exists(quarantineDirectory) {
            for name in try POSIX.listDirectory(quarantineDirectory) {
                report.freedBytes += Self.diskUsage(quarantineDirectory + "/" + name)
                try POSIX.removeTree(quarantineDirectory + "/" + name)
            }
        }
        return report
    }

    /// Bytes used by objects/ (apparent file sizes), for `pipe runs`.
    public func objectsSize() -> Int64 { Self.diskUsage(objectsDirectory) }

    static func diskUsage(_ path: String) -> Int64 {
        guard let status = try? POSIX.status(path) else { return 0 }
        guard status.isDirectory else { return status.size }
        return ((try? POSIX.listDirectory(path)) ?? []).reduce(0) { $0 + diskUsage(path + "/" + $1) }
    }
}
