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

    public static func diff(store: String?, _ first: String, _ second: String, onlyChanged: Bool) -> Int32 {
        guard let (artifactStore, registry) = open(store) else { return 2 }
        do {
            let a = try registry.runDetails(id: registry.resolveRunReference(first))
            let b = try registry.runDetails(id: registry.resolveRunReference(second))
            let rows = RunComparison(a, b, registry: registry, store: artifactStore).rows
            let shown = onlyChanged ? rows.filter(\.changed) : rows
            var out = "A = \(a.run.id) (\(a.run.status.rawValue))  \(Workspace.displayPath(ofFile: a.run.pipelinePath))\n"
            out += "B = \(b.run.id) (\(b.run.status.rawValue))  \(Workspace.displayPath(ofFile: b.run.pipelinePath))\n\n"
            var section = ""
            var table: [[String]] = []
            var flags: [Bool] = []
            for row in shown {
                if row.section != section {
                    section = row.section
                    table.append([section.uppercased(), "", "", ""]); flags.append(false)
                }
                table.append(["  " + row.name, row.a ?? "-", row.b ?? "-", row.changed ? "*" : ""]); flags.append(row.changed)
            }
            if table.isEmpty {
                out += "no differences\n"
            } else {
                out += TextTable.render(header: ["", "A", "B", ""], rows: table, colour: useColour,
                                        highlight: { r, _ in flags[r] })
            }
            let changed = rows.filter(\.changed).count
            out += "\(changed) of \(rows.count) entr\(rows.count == 1 ? "y" : "ies") differ\(changed == 1 ? "s" : "")\n"
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

/// Two runs side by side: params, stage keys and outputs, metrics.
struct RunComparison {
    struct Row {
        var section: String
        var name: String
        var a: String?
        var b: String?
        /// Whether the entries count as equal when the texts carry more than the compared value.
        var same: Bool?
        var changed: Bool { same.map { !$0 } ?? (a != b) }
    }

    let rows: [Row]

    init(_ a: RunDetails, _ b: RunDetails, registry: RunRegistry, store: ArtifactStore) {
        var rows: [Row] = []
        let stageOrder = Self.union(a.stages.map(\.stage), b.stages.map(\.stage))
        let paramsA = Self.params(a.run.params), paramsB = Self.params(b.run.params)
        for stage in Self.union(stageOrder, Self.union(paramsA.map(\.stage), paramsB.map(\.stage))) {
            let names = Self.union(paramsA.filter { $0.stage == stage }.map(\.name), paramsB.filter { $0.stage == stage }.map(\.name))
            for name in names.sorted(by: { $0.utf8Precedes($1) }) {
                rows.append(Row(section: "params", name: "\(stage).\(name)",
                                a: paramsA.first { $0.stage == stage && $0.name == name }?.value,
                                b: paramsB.first { $0.stage == stage && $0.name == name }?.value))
            }
        }
        for stage in stageOrder {
            let ea = a.stages.first { $0.stage == stage }, eb = b.stages.first { $0.stage == stage }
            // A stage cached in one run and ran in the other is the same result when the keys agree.
            rows.append(Row(section: "stages", name: "\(stage) key", a: ea.map { Self.keyText($0) }, b: eb.map { Self.keyText($0) },
                            same: ea?.key == eb?.key))
            for output in Self.union((ea?.outputs.keys).map { Array($0) } ?? [], (eb?.outputs.keys).map { Array($0) } ?? []).sorted(by: { $0.utf8Precedes($1) }) {
                rows.append(Row(section: "stages", name: "\(stage).\(output)", a: ea?.outputs[output]?.short, b: eb?.outputs[output]?.short))
            }
        }
        let metricsA = RunMetrics.load(a, registry: registry, store: store).summary
        let metricsB = RunMetrics.load(b, registry: registry, store: store).summary
        for stage in Self.union(stageOrder, Self.union(Array(metricsA.keys).sorted(), Array(metricsB.keys).sorted())) {
            let names = Self.union(Array(metricsA[stage]?.keys ?? [:].keys), Array(metricsB[stage]?.keys ?? [:].keys))
            for name in names.sorted(by: { $0.utf8Precedes($1) }) {
                rows.append(Row(section: "metrics", name: "\(stage).\(name)",
                                a: metricsA[stage]?[name].map(MetricFormat.value), b: metricsB[stage]?[name].map(MetricFormat.value)))
            }
        }
        self.rows = rows
    }

    static func keyText(_ execution: StageExecution) -> String {
        (execution.key.isEmpty ? "-" : String(execution.key.prefix(12))) + " " + execution.outcome.rawValue
    }

    /// Runs record params as `{stage: {param: value}}`.
    static func params(_ value: JSONValue) -> [(stage: String, name: String, value: String)] {
        guard case .object(let stages) = value else { return [] }
        var result: [(stage: String, name: String, value: String)] = []
        for stage in stages.keys.sorted(by: { $0.utf8Precedes($1) }) {
            guard case .object(let params) = stages[stage]! else { continue }
            for name in params.keys.sorted(by: { $0.utf8Precedes($1) }) {
                let text: String
                if case .string(let s) = params[name]! { text = s } else { text = params[name]!.yamlText }
                result.append((stage, name, text))
            }
        }
        return result
    }

    /// `first`, then the elements of `second` not in it, keeping order.
    static func union(_ first: [String], _ second: [String]) -> [String] {
        var seen = Set(first)
        return first + second.filter { seen.insert($0).inserted }
    }
}
