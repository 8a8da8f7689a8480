import Engine
import Foundation
import Hashing
import Pipeline
import Store

/// `pipe run PIPELINE [--sweep stage.param=a,b …]`. One path for a plain run and a sweep: a plain
/// run is a sweep of one variant. Parse once → plan (every variant resolved and frozen, merged into
/// one DAG so shared upstream stages run once) → key, build and ingest (`RunSession`) → record (one
/// registry run per variant, a sweep row when swept, the lock file). A sweep ends with its ranked table.
public enum RunCommands {
    public struct SweepOptions: Sendable {
        public var sweeps: [String]
        /// Overrides the file's `sweep: {metric: …}`.
        public var rankBy: String?
        /// Overrides the file's `sweep: {goal: …}` (true = larger is better).
        public var maximize: Bool?
        /// Run only the base pipeline even if the file has a `sweep:` block.
        public var ignoreFileSweep: Bool

        public init(sweeps: [String] = [], rankBy: String? = nil, maximize: Bool? = nil, ignoreFileSweep: Bool = false) {
            self.sweeps = sweeps; self.rankBy = rankBy; self.maximize = maximize; self.ignoreFileSweep = ignoreFileSweep
        }
    }

    static let stdout = TerminalOutput(fd: 1)
    static let stderr = TerminalOutput(fd: 2)

    /// The plan of one `pipe run`: its variants merged, and whether it is a sweep.
    struct Planned {
        var plan: SweepPlan
        /// Nil for a plain run.
        var ranking: RunRecording.SweepRanking?
        var isSweep: Bool { ranking != nil }
    }

    /// Parses the file once and plans its variants; prints the diagnostic and returns nil on errors.
    static func plan(_ common: PipelineCommands.Common, sweep: SweepOptions) -> Planned? {
        let variants: [SweepVariant]
        let fileSweep: SweepSpec?
        do {
            let loader = PipelineLoader(workspace: try Workspace.locate(pipelineFile: common.pipelineFile))
            let parsed = try loader.parse(file: common.pipelineFile)
            fileSweep = sweep.ignoreFileSweep ? nil : parsed.spec.sweep
            variants = try loader.loadSweep(parsed, overrides: common.parsedOverrides(), sweeps: sweep.sweeps,
                                            includeFileSweep: !sweep.ignoreFileSweep)
        } catch {
            stderr.write(error.description + "\n")
            return nil
        }
        let plan: SweepPlan
        do { plan = try SweepPlan(variants: variants) } catch {
            stderr.write("error: cannot merge the sweep's variants: \(error)\n")
            return nil
        }
        let swept = !sweep.sweeps.isEmpty || fileSweep.map { !$0.axes.isEmpty || !$0.variants.isEmpty } == true
        let ranking = swept ? RunRecording.SweepRanking(rankBy: sweep.rankBy ?? fileSweep?.metric,
                                                        maximize: sweep.maximize ?? fileSweep?.maximize ?? true) : nil
        return Planned(plan: plan, ranking: ranking)
    }

    /// - Parameters:
    ///   - remote: `--remote NAME|URL|PATH`: stages missing locally are downloaded from this remote
    ///     cache when it has their key (read-through).
    ///   - push: `--push`: afterwards, upload every result of the run the remote lacks (write-through;
    ///     the remote is `remote`, else the config file's default).
    public static func run(_ common: PipelineCommands.Common, sweep: SweepOptions, jobs: Int?, force: [String], dryRun: Bool,
                           liveView: Bool? = nil, remote remoteFlag: String? = nil, push: Bool = false) -> Int32 {
        let profile = RunProfile.shared
        defer { profile.report() }
        guard let planned = profile.measure("plan (parse, resolve variants, merge)", { Self.plan(common, sweep: sweep) }) else { return 2 }
        let plan = planned.plan
        let stageNames = plan.variants[0].pipeline.stages.map(\.name)
        for name in force where !stageNames.contains(name) {
            let hint = Suggestion.nearest(to: name, in: stageNames).map { " (did you mean '\($0)'?)" } ?? ""
            stderr.write("error: --force \(name): no stage named '\(name)' in \(common.pipelineFile)\(hint); stages: \(stageNames.joined(separator: ", "))\n")
            return 2
        }
        guard let store = profile.measure("open store", { PipelineCommands.openStore(common) }) else { return 2 }
        if !dryRun {
            do { try store.checkWritable() } catch {
                stderr.write("error: \(error)\n")
                return 2
            }
        }
        var remote: (any Remote)?
        if remoteFlag != nil || push {
            guard let resolved = RemoteCommands.resolve(remoteFlag, settings: common.executor) else { return 2 }
            remote = resolved
        }
        let colour = PipelineCommands.useColour
        if planned.isSweep { stdout.write(sweepHeader(plan)) }
        if dryRun {
            stdout.write(StatusFormatter.text(dryRunStatuses(plan, common: common, store: store, force: Set(force),
                                                             remote: remoteFlag == nil ? nil : remote),
                                              pipeline: plan.pipeline, dryRun: true, colour: colour))
            return 0
        }

        var rerun = ["pipe", "run", ShellQuote.quote(common.pipelineFile)]
        for text in common.overrides { rerun += ["--set", ShellQuote.quote(text)] }
        for text in sweep.sweeps { rerun += ["--sweep", ShellQuote.quote(text)] }
        if let store = common.store { rerun += ["--store", ShellQuote.quote(store)] }
        if let threads = common.threads { rerun += ["--threads", String(threads)] }
        if common.executor.kind != .local { rerun += ["--executor", common.executor.kind.rawValue] }
        if let remoteFlag { rerun += ["--remote", ShellQuote.quote(remoteFlag)] }
        let forcedNodes = Set(plan.nodes.filter { force.contains($0.stage) }.map(\.name))
        // A cluster's cores are not this machine's: there each job gets --threads (default 1).
        let local = common.executor.kind == .local
        let options = RunOptions(jobs: jobs ?? common.executor.defaultJobs, force: forcedNodes,
                                 threads: local ? common.threads : (common.threads ?? 1), cores: local ? nil : Int(Int32.max),
                                 runtime: common.runtime, rerunCommand: rerun.joined(separator: " "),
                                 remote: remoteFlag == nil ? nil : remote)

        let recording = profile.measure("registry: start runs") {
            RunRecording.start(store: store, plan: plan, pipelineFile: common.pipelineFile, sweep: planned.ranking)
        }
        let label = recording?.label ?? (planned.isSweep ? "unrecorded-sweep" : "unrecorded")
        let report = profile.measure("run (schedule, key, look up, display)") {
            execute(plan.pipeline, store: store, executor: common.executor.makeExecutor(runLabel: label),
                    options: options, recorder: recording, runLabel: label, liveView: liveView,
                    summaryID: recording?.label ?? (planned.isSweep ? "(unrecorded sweep)" : "(unrecorded)"))
        }
        let statuses = plan.variants.indices.map { plan.status(ofVariant: $0, in: report) }
        // The lock file first: it does not depend on the registry, whose writes meanwhile finish
        // on their own thread.
        profile.measure("lock file") {
            writeLockFile(plan, isSweep: planned.isSweep, pipelineFile: common.pipelineFile, report: report, store: store)
        }
        profile.measure("registry: finish (waits for writes)") { recording?.finish(statuses) }
        if let recording, let recorded = planned.isSweep ? recording.sweepID : recording.runIDs?.first, recorded != recording.label {
            // The id proposed before the run was taken meanwhile (another run started in the same second).
            stderr.write("note: \(recording.label) was recorded as \(recorded) (the id was taken)\n")
        }

        if planned.isSweep {
            profile.measure("sweep table") {
                stdout.write(sweepTable(planned, statuses: statuses, recording: recording, report: report, colour: colour))
            }
        }
        if push, let remote {
            let pushed = pushResults(report, remote: remote, store: store, runID: planned.isSweep ? nil : recording?.runIDs?.first,
                                     pipeline: plan.pipeline.name)
            if !pushed && report.status == .succeeded { return 1 }
        }
        return report.status.exitCode
    }

    /// `sweep: 4 variants, 12 distinct stages (24 without sharing)…`, printed before a sweep's plan.
    static func sweepHeader(_ plan: SweepPlan) -> String {
        let stageCount = plan.variants[0].pipeline.stages.count
        return "sweep: \(plan.variants.count) variant\(plan.variants.count == 1 ? "" : "s"), "
            + "\(plan.nodes.count) distinct stage\(plan.nodes.count == 1 ? "" : "s") "
            + "(\(plan.variants.count * stageCount) without sharing)"
            + (plan.labelAxes.map { "; swept stages show as stage[" + $0.joined(separator: ",") + "]" } ?? "") + "\n"
    }

    /// Runs a pipeline with a live view (or plain log), Ctrl-C stopping it cleanly, and the summary
    /// line at the end. `pipe run` and `pipe reproduce` both run through here.
    static func execute(_ pipeline: ResolvedPipeline, store: ArtifactStore, executor: any Executor, options: RunOptions,
                        recorder: (any RunRecorder)?, runLabel: String, liveView: Bool?, summaryID: String?) -> RunReport {
        let display: any RunDisplay = (liveView ?? stdout.isTerminal && ProcessInfo.processInfo.environment["TERM"] != "dumb")
            ? TerminalLiveView(output: stdout) : PlainEventLog(output: stdout)
        let session = RunSession(pipeline: pipeline, store: store, executor: executor, display: display,
                                 options: options, recorder: recorder, runLabel: runLabel)
        let signals = InterruptSignals()
        signals.install { [session] _ in session.interrupt() }
        let report = session.run()
        signals.uninstall()
        if let summaryID {
            let count = { (predicate: (StageResult) -> Bool) in report.outcomes.values.filter(predicate).count }
            display.handle(.runFinished(RunSummary(
                runID: summaryID,
                ran: count { if case .ran = $0 { true } else { false } },
                cached: count { switch $0 { case .cached, .reused: true; default: false } },
                failed: count { if case .failed = $0 { true } else { false } },
                skipped: count { if case .skipped = $0 { true } else { false } },
                pulled: count { if case .pulled = $0 { true } else { false } },
                interrupted: report.status == .interrupted,
                seconds: report.finishedAt.timeIntervalSince(report.startedAt))))
        }
        display.close()
        return report
    }

    /// `--push`: every available result of the run (ran, pulled or cached), then the run's key list
    /// so `pipe pull RUN` finds it. False when something could not be pushed (reported).
    static func pushResults(_ report: RunReport, remote: any Remote, store: ArtifactStore, runID: String?, pipeline: String) -> Bool {
        let names = report.records.keys.sorted { $0.utf8Precedes($1) }
        let progress = TransferProgress()
        let started = ContinuousClock.now
        var failures: [String] = []
        for name in names {
            guard let record = report.records[name] else { continue }
            do { try remote.putRecord(record.key, from: store, progress: progress) } catch { failures.append("\(name): \(error)") }
        }
        if let runID, failures.isEmpty, report.status == .succeeded {
            let stages = names.compactMap { name in report.records[name].map { RemoteRun.Stage(stage: name, key: $0.key) } }
            do { try remote.putRun(RemoteRun(run: runID, pipeline: pipeline, stages: stages)) } catch { failures.append("run \(runID): \(error)") }
        }
        stdout.write(RemoteCommands.summary(verb: "pushed", to: "to", remote: remote.name, stages: names.count - failures.count,
                                            tally: progress.tally, seconds: (ContinuousClock.now - started).seconds))
        for failure in failures { stderr.write("error: push \(failure)\n") }
        return failures.isEmpty
    }

    /// After a successful run: `<pipeline>.lock` (`<pipeline>.sweep.lock` for a sweep, every variant).
    /// Skipped when the file is unchanged since it was last known to hold what this run's results
    /// render to (`WrittenFileMemo`): a 512-variant sweep's lock file is 1.8 MB of YAML.
    /// Problems are warnings: the run succeeded.
    static func writeLockFile(_ plan: SweepPlan, isSweep: Bool, pipelineFile: String, report: RunReport, store: ArtifactStore) {
        guard report.status == .succeeded else { return }
        let path = LockFile.path(forPipeline: pipelineFile, sweep: isSweep)
        let fingerprint = lockFingerprint(plan, isSweep: isSweep, pipelineFile: pipelineFile, report: report)
        if let fingerprint, store.writtenFileMemo.isCurrent(path, fingerprint: fingerprint) { return }
        var recorded: [String: RecordedStage] = [:]
        let variants = plan.variants.indices.compactMap { v in
            LockFileWriter.variant(name: plan.variants[v].name, overrides: plan.overrideTexts(ofVariant: v),
                                   pipeline: plan.variants[v].pipeline, report: report, node: { plan.nodeOf[v][$0] ?? $0 },
                                   recorded: &recorded)
        }
        guard variants.count == plan.variants.count else { return }
        let written = LockFileWriter.write(LockFile(pipeline: plan.pipeline.name, file: URL(fileURLWithPath: pipelineFile).lastPathComponent,
                                                    variants: variants, isSweep: isSweep),
                                           to: path)
        if written, let fingerprint {
            store.writtenFileMemo.remember(path, fingerprint: fingerprint)
            store.saveWrittenFileMemo()
        }
    }

    /// SHA-256 over everything a lock file's bytes depend on: its schema, the pipeline's name and
    /// file, and per variant its name, overrides and, per stage, the name, the key it was looked up
    /// under (which fixes the whole key material), the outputs and the input references. Nil when
    /// a stage has no result (no lock file is written then).
    static func lockFingerprint(_ plan: SweepPlan, isSweep: Bool, pipelineFile: String, report: RunReport) -> Digest? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(plan.variants.count * 512)
        func add(_ text: String) { bytes += text.utf8; bytes.append(0) }
        add(LockFile.schema)
        add(plan.pipeline.name)
        add(URL(fileURLWithPath: pipelineFile).lastPathComponent)
        add(isSweep ? "sweep" : "plain")
        // A node's part is the same in every variant using it: built once.
        var nodeParts: [String: [UInt8]] = [:]
        for v in plan.variants.indices {
            add(plan.variants[v].name)
            for (target, value) in plan.overrideTexts(ofVariant: v) { add(target); add(value) }
            bytes.append(1)
            for stage in plan.variants[v].pipeline.stages {
                let node = plan.nodeOf[v][stage.name] ?? stage.name
                add(stage.name)
                add(node)
                if let part = nodeParts[node] { bytes += part; continue }
                guard let record = report.records[node], report.materials[node] != nil,
                      report.outcomes[node]?.isAvailable == true else { return nil }
                var part = record.key.bytes
                for name in record.outputs.keys.sorted(by: { $0.utf8Precedes($1) }) {
                    part += name.utf8; part.append(0); part += record.outputs[name]!.bytes
                }
                part.append(1)
                for input in stage.inputs { part += input.name.utf8; part.append(0); part += input.reference.utf8; part.append(0) }
                part.append(2)
                nodeParts[node] = part
                bytes += part
            }
        }
        return SHA256.hash(bytes)
    }

    /// The ranked table printed at the end of a sweep.
    static func sweepTable(_ planned: Planned, statuses: [RunStatus], recording: RunRecording?, report: RunReport,
                           colour: Bool) -> String {
        let plan = planned.plan
        let rankBy = planned.ranking?.rankBy, maximize = planned.ranking?.maximize ?? true
        let runIDs = recording?.runIDs
        let table = SweepTable(
            rows: plan.variants.indices.map { v in
                SweepTable.Row(variant: plan.variants[v].name, runID: runIDs?[v] ?? "-", status: statuses[v].rawValue,
                               params: plan.overrideTexts(ofVariant: v), metrics: metrics(ofVariant: v, plan: plan, report: report))
            },
            rankBy: rankBy, maximize: maximize, stageOrder: plan.variants[0].pipeline.stages.map(\.name),
            sweptStages: sweptStages(plan))
        var out = "\n" + (rankBy.map { "ranked by \($0) (\(maximize ? "higher" : "lower") is better)\n" } ?? "")
        out += table.text(colour: colour)
        if let id = recording?.sweepID { out += "sweep \(id): pipe report --sweep \(id)\n" }
        return out
    }

    /// One line per node: the merged pipeline planned once (shared stages keyed once), each node's
    /// "why it must run" compared with the last result of its stage in the pipeline file.
    static func dryRunStatuses(_ plan: SweepPlan, common: PipelineCommands.Common, store: ArtifactStore,
                               force: Set<String>, remote: (any Remote)? = nil) -> [StageStatus] {
        let forcedNodes = Set(plan.nodes.filter { force.contains($0.stage) }.map(\.name))
        var fileStageNames: [String: String] = [:]
        for node in plan.nodes where node.name != node.stage { fileStageNames[node.name] = node.stage }
        var statuses = StatusPlanner(pipeline: plan.pipeline, pipelineFile: common.pipelineFile, store: store,
                                     runtime: common.runtime, fileStageNames: fileStageNames, remote: remote)
            .plan(force: forcedNodes)
        for i in statuses.indices {
            guard let stage = fileStageNames[statuses[i].stage] else { continue }
            // `--force ppo` forces every node of ppo; say so in the name the user typed.
            statuses[i].reasons = statuses[i].reasons.map { $0 == "forced (--force \(statuses[i].stage))" ? "forced (--force \(stage))" : $0 }
        }
        return statuses
    }

    /// Stage → metric → last value for one variant: series reported in this run, else the summary
    /// kept in the stage record (cached stages).
    static func metrics(ofVariant v: Int, plan: SweepPlan, report: RunReport) -> [String: [String: Double]] {
        var result: [String: [String: Double]] = [:]
        for (stage, node) in plan.nodeOf[v] {
            var values: [String: Double] = [:]
            for point in report.metrics[node] ?? [] { values[point.name] = point.value }
            if values.isEmpty { values = report.records[node]?.metrics ?? [:] }
            if !values.isEmpty { result[stage] = values }
        }
        return result
    }

    /// Stages with more than one node: the ones the sweep varies (directly or through an input).
    static func sweptStages(_ plan: SweepPlan) -> [String] {
        var counts: [String: Int] = [:]
        for node in plan.nodes { counts[node.stage, default: 0] += 1 }
        return counts.filter { $0.value > 1 }.keys.sorted { $0.utf8Precedes($1) }
    }
}
