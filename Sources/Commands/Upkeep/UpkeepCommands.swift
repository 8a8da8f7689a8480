import Engine
import Foundation
import Hashing
import Pipeline
import Store

/// `pipe gc` and `pipe verify`, on the store's primitives (Sources/Store/Upkeep).
public enum UpkeepCommands {
    static let stdout = TerminalOutput(fd: 1)
    static let stderr = TerminalOutput(fd: 2)

    /// What gc keeps, and why.
    struct KeepSet {
        var keys: Set<Digest> = []
        var objects: Set<Digest> = []
        var runs: [String] = []
        /// The kept runs and their sweeps: their failed-stage logs stay.
        var failedLogs: Set<String> = []
        var reasons: [String] = []
    }

    /// The last `keepLast` runs (whole sweeps when one of their runs is kept), named runs, running
    /// runs, and every lock file next to a pipeline the registry knows (plus `extraLocks`).
    static func keepSet(registry: RunRegistry, keepLast: Int, extraLocks: [String]) throws -> KeepSet {
        var keep = KeepSet()
        let all = try registry.listRuns(limit: Int(Int32.max))
        var runs = Array(all.prefix(keepLast).map(\.id))
        keep.reasons.append("the last \(min(keepLast, all.count)) run\(keepLast == 1 ? "" : "s")")
        let running = all.filter { $0.status == .running }.map(\.id)
        if !running.isEmpty { keep.reasons.append("\(running.count) running run\(running.count == 1 ? "" : "s")") }
        let named = try registry.namedRuns()
        if !named.isEmpty { keep.reasons.append("named runs (" + named.map(\.name).joined(separator: ", ") + ")") }
        runs += running + named.map(\.runID)
        var sweeps = Set<String>()
        for id in runs { if let membership = try registry.sweepMembership(runID: id) { sweeps.insert(membership.sweepID) } }
        for sweep in sweeps.sorted() { runs += try registry.sweep(id: sweep).members.map(\.runID) }
        keep.failedLogs = sweeps
        if !sweeps.isEmpty { keep.reasons.append("every run of \(sweeps.count) sweep\(sweeps.count == 1 ? "" : "s") among them") }
        var seen = Set<String>()
        keep.runs = runs.filter { seen.insert($0).inserted }
        keep.failedLogs.formUnion(keep.runs)
        keep.keys = Set(try registry.stageKeys(ofRuns: keep.runs).compactMap(Digest.init(hex:)))

        var lockPaths = extraLocks
        for path in Set(all.map(\.pipelinePath)).sorted() {
            for sweep in [false, true] {
                let lock = LockFile.path(forPipeline: path, sweep: sweep)
                if FileManager.default.fileExists(atPath: lock) { lockPaths.append(lock) }
            }
        }
        for path in lockPaths {
            let lock = try LockFile.read(path: path)
            keep.keys.formUnion(lock.referencedKeys.compactMap(Digest.init(hex:)))
            keep.objects.formUnion(lock.referencedObjects.compactMap(Digest.init(hex:)))
        }
        if !lockPaths.isEmpty {
            keep.reasons.append("\(lockPaths.count) lock file\(lockPaths.count == 1 ? "" : "s") ("
                                + lockPaths.map { Workspace.displayPath(ofFile: $0) }.joined(separator: ", ") + ")")
        }
        return keep
    }

    public static func gc(store storeFlag: String?, keepLast: Int, dryRun: Bool, graceSeconds: Int, locks: [String],
                          acceptLostHistory: Bool = false) -> Int32 {
        guard let (store, registry) = HistoryCommands.open(storeFlag) else { return 2 }
        do {
            // Runs missing from the registry would make their results look unused.
            if let loss = try registry.lostHistory(), !acceptLostHistory {
                stderr.write("error: not collecting: the run registry lost history (\(loss)).\n"
                             + "Rebuild it from the stage records with `pipe verify --rebuild-registry`, "
                             + "or pass --accept-lost-history to collect anyway.\n")
                return 2
            }
            if !dryRun { try store.checkWritable() }
            let keep = try keepSet(registry: registry, keepLast: keepLast, extraLocks: locks)
            let report = try store.garbageCollect(keepKeys: keep.keys, keepObjects: keep.objects, keepFailedLogs: keep.failedLogs, dryRun: dryRun,
                                                  grace: .seconds(graceSeconds))
            var out = "keeping what these need: " + keep.reasons.joined(separator: "; ") + "\n"
            if graceSeconds > 0 { out += "and anything younger than \(graceSeconds)s (may belong to a run in progress; --grace to change)\n" }
            let verb = dryRun ? "would remove" : "removed"
            out += "\(verb) \(report.removedRecords.count) stage result\(report.removedRecords.count == 1 ? "" : "s") and "
                + "\(report.removedObjects.count) object\(report.removedObjects.count == 1 ? "" : "s") "
                + (report.removedFailedLogs.isEmpty ? "" : "and the failed-stage logs of \(report.removedFailedLogs.count) run\(report.removedFailedLogs.count == 1 ? "" : "s") ")
                + "(\(MetricFormat.bytes(report.freedBytes)))"
                + "; kept \(report.keptRecords) result\(report.keptRecords == 1 ? "" : "s") and \(report.keptObjects) object\(report.keptObjects == 1 ? "" : "s")\n"
            if dryRun {
                for key in report.removedRecords.prefix(20) { out += "  result \(key.short)\n" }
                for object in report.removedObjects.prefix(20) { out += "  object \(object.short)\n" }
                let more = report.removedRecords.count + report.removedObjects.count - min(20, report.removedRecords.count) - min(20, report.removedObjects.count)
                if more > 0 { out += "  … \(more) more\n" }
            }
            out += HistoryCommands.storeSizeLine(store)
            stdout.write(out)
            return 0
        } catch let error as UnusableLockFile {
            // gc keeps what lock files name; without reading this one it cannot know what that is.
            stderr.write("error: not collecting (nothing was removed): \(error).\n")
            return 2
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
    }

    /// Re-hashes every object; corrupted ones are moved to quarantine/ (unless `reportOnly`) so the
    /// stages that produced them are rebuilt by the next run. Exit 1 when something is corrupted.
    public static func verify(store storeFlag: String?, reportOnly: Bool, rebuildRegistry: Bool = false) -> Int32 {
        let root = ArtifactStore.resolveRoot(explicit: storeFlag)
        guard FileManager.default.fileExists(atPath: root + "/objects") else {
            stderr.write("error: no artifact store at \(root) (pass --store)\n")
            return 2
        }
        do {
            let store = try ArtifactStore(root: root, cleanTemporary: false, warning: { _ in })
            // A damaged registry must not stop the object check: report it and go on without it.
            var registry: RunRegistry?
            var registryProblem: String?
            if rebuildRegistry {
                if FileManager.default.fileExists(atPath: store.registryPath) && store.registryProblem() == nil {
                    stdout.write("the run registry is sound; not rebuilding it\n")
                } else {
                    let rebuilt = try store.rebuildRegistry()
                    stdout.write("rebuilt the run registry from \(rebuilt.records) stage record\(rebuilt.records == 1 ? "" : "s")"
                                 + (rebuilt.movedAside.map { " (the damaged one is kept as \($0))" } ?? "") + "\n")
                }
            }
            if FileManager.default.fileExists(atPath: store.registryPath) {
                do {
                    let opened = try store.openRegistry()
                    registry = opened
                    registryProblem = try opened.lostHistory(thorough: true)
                } catch {
                    registryProblem = "\(error)"
                }
            }
            let start = ContinuousClock.now
            // A store that cannot be written is still checked: the findings are reported, not acted on.
            var unwritable: String?
            if !reportOnly { do { try store.checkWritable() } catch { unwritable = "\(error)" } }
            let report = try store.verify(quarantine: !reportOnly && unwritable == nil, registry: registry)
            let leftInPlace = unwritable == nil ? "left in place (--report-only)" : "left in place (the store cannot be written)"
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            var out = "checked \(report.checkedObjects) object\(report.checkedObjects == 1 ? "" : "s") "
                + "(\(MetricFormat.bytes(report.checkedBytes))) in \(Format.seconds(seconds))\n"
            for object in report.corrupted {
                out += "CORRUPT \(object.digest.short): \(object.reason)\n"
                for key in object.referencedByKeys {
                    let stages = stageNames(key: key.hex, runs: object.affectedRuns, registry: registry)
                    out += "  output of stage result \(key.short)" + (stages.isEmpty ? "" : " (stage \(stages.joined(separator: ", ")))") + "\n"
                }
                if !object.affectedRuns.isEmpty { out += "  affects run\(object.affectedRuns.count == 1 ? "" : "s"): \(object.affectedRuns.joined(separator: ", "))\n" }
                if let moved = object.quarantinedTo {
                    out += "  moved to \(moved); the next `pipe run` rebuilds the stages that produced it\n"
                } else {
                    out += "  " + leftInPlace + (unwritable == nil ? "; run `pipe verify` without it to quarantine it\n" : "\n")
                }
            }
            for path in report.unreadableRecords { out += "UNREADABLE stage record \(path) (ignored by runs: that stage is rebuilt)\n" }
            for result in report.poisoned {
                out += "POISONED stage result \(result.key.short) (stage \(result.stage)): built from corrupt object \(result.builtFrom.short); "
                    + (result.invalidated ? "removed, the next `pipe run` rebuilds it\n" : leftInPlace + "\n")
            }
            if let registryProblem {
                out += "REGISTRY \(registryProblem)\n  run `pipe verify --rebuild-registry` to rebuild it from the stage records in \(store.stagesDirectory)\n"
            }
            if let unwritable, !report.isClean { out += "nothing was quarantined or removed: \(unwritable)\n" }
            let clean = report.isClean && registryProblem == nil
            out += clean ? "store is intact\n"
                : "\(report.corrupted.count) corrupted object\(report.corrupted.count == 1 ? "" : "s"), "
                    + "\(report.poisoned.count) result\(report.poisoned.count == 1 ? "" : "s") built from corrupt objects, "
                    + "\(report.unreadableRecords.count) unreadable record\(report.unreadableRecords.count == 1 ? "" : "s")"
                    + (registryProblem == nil ? "" : ", a damaged run registry") + "\n"
            stdout.write(out)
            return clean ? 0 : 1
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
    }

    static func stageNames(key: String, runs: [String], registry: RunRegistry?) -> [String] {
        guard let registry else { return [] }
        var names: [String] = []
        for run in runs {
            guard let details = try? registry.runDetails(id: run) else { continue }
            for execution in details.stages where execution.key == key && !names.contains(execution.stage) { names.append(execution.stage) }
        }
        return names
    }
}
