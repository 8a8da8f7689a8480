import Engine
import Foundation
import Hashing
import Pipeline
import Store

/// `pipe diff`, `pipe log`, `pipe name`, and the history columns of `pipe runs` / `pipe show`.
/// Every function returns the exit status: 0 ok, 1 a difference/problem the command reports, 2 usage.
public enum HistoryCommands {
    static let stdout = TerminalOutput(fd: 1)
    static let stderr = TerminalOutput(fd: 2)

    static var useColour: Bool { stdout.isTerminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil }

    /// Opens the store without cleaning tmp/ (read-only commands must not disturb running ones).
    static func open(_ store: String?) -> (ArtifactStore, RunRegistry)? {
        do {
            let root = ArtifactStore.resolveRoot(explicit: store)
            guard FileManager.default.fileExists(atPath: root + "/runs.sqlite") else {
                stderr.write("error: no runs recorded in \(root) (run a pipeline first, or pass --store)\n")
                return nil
            }
            let artifactStore = try ArtifactStore(root: root, cleanTemporary: false)
            return (artifactStore, try artifactStore.openRegistry())
        } catch {
            stderr.write("error: cannot open the run registry: \(error)\n")
            return nil
        }
    }

    // MARK: diff

    /// `pipe diff A B`: what differs between two runs (params, stage keys and outputs, metrics with
    /// the change B − A); with `all`, every entry, the changed ones marked `*`.
    public static func diff(store: String?, _ first: String, _ second: String, all: Bool) -> Int32 {
        guard let (artifactStore, registry) = open(store) else { return 2 }
        do {
            let a = try registry.runDetails(id: registry.resolveRunReference(first))
            let b = try registry.runDetails(id: registry.resolveRunReference(second))
            let comparison = RunComparison(a, b, registry: registry, store: artifactStore)
            var out = "A = \(a.run.id) (\(a.run.status.rawValue))  \(RunPaths.display(a.run.pipelinePath))\n"
            out += "B = \(b.run.id) (\(b.run.status.rawValue))  \(RunPaths.display(b.run.pipelinePath))\n\n"
            out += comparison.text(all: all, colour: useColour)
            stdout.write(out)
            return 0
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
    }

    // MARK: log

    /// The run's execution of `stage`, or nil after printing the stage names (with the nearest one).
    static func execution(of stage: String, in details: RunDetails) -> StageExecution? {
        if let execution = details.stages.first(where: { $0.stage == stage }) { return execution }
        let names = details.stages.map(\.stage)
        let hint = Suggestion.nearest(to: stage, in: names).map { " (did you mean '\($0)'?)" } ?? ""
        stderr.write("error: run \(details.run.id) has no stage '\(stage)'\(hint); stages: \(names.joined(separator: ", "))\n")
        return nil
    }

    public static func log(store: String?, run reference: String, stage: String) -> Int32 {
        guard let (artifactStore, registry) = open(store) else { return 2 }
        do {
            let details = try registry.runDetails(id: registry.resolveRunReference(reference))
            guard let execution = HistoryCommands.execution(of: stage, in: details) else { return 2 }
            if let key = Digest(hex: execution.key), let record = artifactStore.record(forKey: key), let log = record.log {
                let data = FileManager.default.contents(atPath: artifactStore.objectPath(log)) ?? Data()
                stdout.write(String(decoding: data, as: UTF8.self))
                return 0
            }
            let failedLog = artifactStore.failedLogPath(run: details.run.id, stage: stage)
            if let data = FileManager.default.contents(atPath: failedLog) {
                stderr.write("(log of the failed attempt, kept at \(failedLog))\n")
                stdout.write(String(decoding: data, as: UTF8.self))
                return 0
            }
            stderr.write("error: no log for stage '\(stage)' of run \(details.run.id) (\(execution.outcome.rawValue)"
                         + (execution.message.map { ": \($0)" } ?? "") + "); it may have been removed by `pipe gc`\n")
            return 1
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
    }

    // MARK: name

    public static func name(store: String?, run reference: String, name: String) -> Int32 {
        guard let (_, registry) = open(store) else { return 2 }
        guard !name.isEmpty, !name.contains(where: \.isWhitespace) else {
            stderr.write("error: a run name must be non-empty and contain no spaces\n")
            return 2
        }
        do {
            let id = try registry.resolveRunReference(reference)
            try registry.nameRun(id: id, name: name)
            stdout.write("named run \(id) '\(name)' (`pipe gc` keeps what it needs; use the name wherever a run id goes)\n")
            return 0
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
    }

    // MARK: pieces of `pipe runs` / `pipe show`

    /// Up to three metrics of the last stage of the run that reported any: `eval.score=0.2`.
    public static func headlineMetrics(_ details: RunDetails, registry: RunRegistry, store: ArtifactStore) -> String {
        let metrics = RunMetrics.load(details, registry: registry, store: store, followCached: false)
        guard let stage = details.stages.map(\.stage).last(where: { metrics.summary[$0] != nil }),
              let values = metrics.summary[stage] else { return "" }
        return values.keys.sorted { $0.utf8Precedes($1) }.prefix(3)
            .map { "\(stage).\($0)=\(MetricFormat.value(values[$0]!))" }.joined(separator: " ")
    }

    /// After the pipeline column of `pipe runs`: `  eval.score=0.2 loss=0.7  [sweep s2026…]`.
    public static func runsColumns(_ details: RunDetails, registry: RunRegistry, store: ArtifactStore) -> String {
        var text = headlineMetrics(details, registry: registry, store: store)
        if let membership = try? registry.sweepMembership(runID: details.run.id) { text += (text.isEmpty ? "" : "  ") + "[sweep \(membership.sweepID)]" }
        if let names = try? registry.names(ofRun: details.run.id), !names.isEmpty { text += "  (" + names.joined(separator: ", ") + ")" }
        return text.isEmpty ? "" : "  " + text
    }

    /// `store: 12.3 MiB in 40 objects, 12 stage results (artifacts)`.
    public static func storeSizeLine(_ store: ArtifactStore) -> String {
        let objects = ((try? FileManager.default.contentsOfDirectory(atPath: store.objectsDirectory)) ?? []).count
        let records = ((try? store.allRecordKeys()) ?? []).count
        return "store: \(MetricFormat.bytes(store.objectsSize())) in \(objects) object\(objects == 1 ? "" : "s"), "
            + "\(records) stage result\(records == 1 ? "" : "s") (\(store.root))\n"
    }

    /// Extra header lines of `pipe show`: sweep membership and names.
    public static func showExtras(_ runID: String, registry: RunRegistry) -> String {
        var out = ""
        if let membership = try? registry.sweepMembership(runID: runID) {
            out += "sweep     \(membership.sweepID)  variant \(membership.variant)\n"
        }
        if let names = try? registry.names(ofRun: runID), !names.isEmpty {
            out += "names     \(names.joined(separator: ", "))\n"
        }
        return out
    }
}
