import Engine
import Foundation
import Hashing
import Pipeline
import Store

/// `pipe stages`, `pipe runs`, `pipe show`: read-only listings.
public enum InfoCommands {
    static let stdout = TerminalOutput(fd: 1)
    static let stderr = TerminalOutput(fd: 2)

    // MARK: stages

    /// Lists the kinds declared in `workspace/stages/` with their params, defaults and docs.
    /// - Parameter builtinKinds: the built-in kinds this binary runs (`StageRuntime.builtinKinds`).
    public static func stages(workspace root: String, builtinKinds: [String]) -> Int32 {
        let workspace = Workspace(root: root)
        let declarations: [StageDeclaration]
        do { declarations = try workspace.loadAllDeclarations() } catch {
            stderr.write(error.description + "\n")
            return 2
        }
        if declarations.isEmpty {
            stderr.write("no stage declarations in \(workspace.stagesDirectory) (one YAML per kind; see stages/README.md)\n")
            return 2
        }
        var out = ""
        for declaration in declarations {
            let implementation: String
            switch declaration.implementation {
            case .builtin(let name):
                let available = builtinKinds.contains(name)
                implementation = "built-in \(name)" + (available ? "" : " (not in this pipe binary)")
            case .command(let command): implementation = "command: " + command
            }
            out += "\(declaration.kind) (v\(declaration.version)) — \(declaration.doc ?? "")\n"
            out += "  runs: \(implementation)\n"
            if !declaration.inputs.isEmpty {
                out += "  inputs:  " + declaration.inputs.map { $0.name + ($0.optional ? "?" : "") }.joined(separator: ", ") + "\n"
            }
            out += "  outputs: " + declaration.outputs.map(\.name).joined(separator: ", ") + "\n"
            if !declaration.metrics.isEmpty {
                out += "  metrics: " + declaration.metrics.map(\.path).joined(separator: ", ") + "\n"
            }
            if !declaration.params.isEmpty {
                out += "  params:\n"
                let width = declaration.params.map(\.name.count).max() ?? 0
                for param in declaration.params {
                    let name = param.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    var line = "    \(name)  \(param.type) = \(param.defaultValue)"
                    if let min = param.minDescription { line += ", min \(min)" }
                    if let max = param.maxDescription { line += ", max \(max)" }
                    if let choices = param.choices { line += ", one of " + choices.map(\.description).joined(separator: "|") }
                    if let doc = param.doc { line += "  — " + doc }
                    out += line + "\n"
                }
            }
            out += "\n"
        }
        let declaredBuiltins = Set(declarations.compactMap { if case .builtin(let n) = $0.implementation { n } else { nil } })
        let undeclared = builtinKinds.filter { !declaredBuiltins.contains($0) }.sorted()
        if !undeclared.isEmpty {
            out += "built-ins in this binary without a declaration here: \(undeclared.joined(separator: ", "))\n"
        }
        stdout.write(out)
        return 0
    }

    // MARK: runs / show

    static func registry(store: String?) -> (ArtifactStore, RunRegistry)? {
        do {
            let store = try ArtifactStore(root: ArtifactStore.resolveRoot(explicit: store), cleanTemporary: false)
            return (store, try store.openRegistry())
        } catch {
            stderr.write("error: cannot open the run registry: \(error)\n")
            return nil
        }
    }

    public static func runs(store: String?, limit: Int) -> Int32 {
        guard let (artifactStore, registry) = registry(store: store) else { return 2 }
        do {
            let runs = try registry.listRuns(limit: limit)
            if runs.isEmpty { stdout.write("no runs recorded yet\n"); return 0 }
            var lines: [(fixed: String, pipeline: String, rest: String)] = []
            for run in runs {
                let details = try registry.runDetails(id: run.id)
                let ran = details.stages.filter { $0.outcome == .ran }.count
                let cached = details.stages.filter { $0.outcome == .cached }.count
                let failed = details.stages.filter { $0.outcome == .failed }.count
                var counts = "\(ran) ran, \(cached) cached"
                if failed > 0 { counts += ", \(failed) failed" }
                let duration = run.durationSeconds.map { Format.seconds($0) } ?? "-"
                let fixed = run.id.padding(toLength: 22, withPad: " ", startingAt: 0) + " "
                    + run.status.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0) + " "
                    + duration.padding(toLength: 9, withPad: " ", startingAt: 0) + " "
                    + counts.padding(toLength: 28, withPad: " ", startingAt: 0) + " "
                lines.append((fixed, RunPaths.display(run.pipelinePath),
                              HistoryCommands.runsColumns(details, registry: registry, store: artifactStore)))
            }
            // The pipeline column is as wide as its longest path, so the metrics line up.
            let width = max("PIPELINE".count, lines.map(\.pipeline.count).max() ?? 0)
            var out = "RUN                    STATUS       DURATION  STAGES                       "
                + "PIPELINE".padding(toLength: width, withPad: " ", startingAt: 0) + "  METRICS\n"
            for line in lines {
                let row = line.fixed + line.pipeline.padding(toLength: width, withPad: " ", startingAt: 0) + line.rest
                out += String(row.reversed().drop { $0 == " " }.reversed()) + "\n"
            }
            out += HistoryCommands.storeSizeLine(artifactStore)
            stdout.write(out)
            return 0
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
    }

    /// Whether the key's stored record came from this execution of the stage: a later `--force`
    /// rerun of the same key replaces the record, and its CPU time is not this run's.
    static func recordsThisExecution(_ record: StageRecord, _ stage: StageExecution) -> Bool {
        guard let started = stage.startedAt, let finished = stage.finishedAt else { return false }
        // The record's execution began within this one's window (a later rerun begins after it ended);
        // a second of slack before the start for a stage host whose clock lags the runner's.
        return record.startedAt >= started.addingTimeInterval(-1) && record.startedAt <= finished
    }

    /// `includes  FILE, ...`: the files the run's pipeline takes stages from (`include:`). The
    /// registry keeps only their combined sha256, so they are read as they are now, flagged when
    /// that no longer matches what the run read. Empty without includes or a readable pipeline.
    static func includesLine(_ run: RunInfo) -> String {
        guard FileManager.default.fileExists(atPath: run.pipelinePath),
              let workspace = try? Workspace.locate(pipelineFile: run.pipelinePath),
              let parsed = try? PipelineLoader(workspace: workspace).parse(file: run.pipelinePath) else { return "" }
        let sources = parsed.spec.sources
        guard sources.count > 1 else { return "" }
        let changed = PipelineSource.digest(of: sources, workspace: workspace)?.hex != run.pipelineDigest
        return "includes  " + sources.dropFirst().map { RunPaths.display($0.path) }.joined(separator: ", ")
            + (changed ? "  (as they are now: the pipeline's files changed since this run)" : "") + "\n"
    }

    public static func show(store: String?, run reference: String) -> Int32 {
        guard let (artifactStore, registry) = registry(store: store) else { return 2 }
        do {
            let details = try registry.runDetails(id: registry.resolveRunReference(reference))
            let run = details.run
            var out = "run       \(run.id)  (\(run.status.rawValue))\n"
            out += "pipeline  \(run.name)  \(RunPaths.display(run.pipelinePath))  sha256 \(run.pipelineDigest.prefix(12))\n"
            out += includesLine(run)
            out += "started   \(run.startedAt)" + (run.durationSeconds.map { "  took \(Format.seconds($0))" } ?? "") + "  on \(run.host)\n"
            out += "command   \(run.commandLine.joined(separator: " "))\n"
            out += HistoryCommands.showExtras(run.id, registry: registry)
            out += "stages:\n"
            let width = details.stages.map(\.stage.count).max() ?? 0
            for stage in details.stages {
                var line = "  " + stage.stage.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                line += stage.outcome.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
                if !stage.key.isEmpty { line += "  key \(stage.key.prefix(12))" }
                let record = stage.outcome == .failed ? nil : Digest(hex: stage.key).flatMap { artifactStore.record(forKey: $0) }
                if let seconds = stage.durationSeconds {
                    line += "  \(Format.seconds(seconds))"
                    if stage.outcome == .ran, let record, let cpu = record.cpuSeconds, Self.recordsThisExecution(record, stage) {
                        line += " (CPU \(Format.seconds(cpu)))"
                    }
                }
                if let message = stage.message { line += "  (\(message))" }
                out += line + "\n"
                if let record {
                    if let material = record.material, !material.params.isEmpty {
                        out += "      params   " + material.params.map { "\($0.name)=\($0.value)" }.joined(separator: " ") + "\n"
                    }
                    for name in record.outputs.keys.sorted() {
                        out += "      output   \(name) \(record.outputs[name]!.short)\n"
                    }
                }
                if let points = details.metrics[stage.stage], !points.isEmpty {
                    var last: [String: MetricPoint] = [:]
                    for point in points { last[point.name] = point }
                    out += "      metrics  " + last.keys.sorted().map { "\($0)=\(last[$0]!.value) (step \(last[$0]!.step))" }.joined(separator: " ") + "\n"
                }
            }
            stdout.write(out)
            return 0
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
    }
}
