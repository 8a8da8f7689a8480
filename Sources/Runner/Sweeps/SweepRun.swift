import Foundation
import Hashing
import Pipeline
import Store

/// `pipe run PIPELINE --sweep stage.param=a,b …` (or a pipeline with a `sweep:` block): every
/// variant is resolved and frozen first, merged into one DAG (`SweepPlan`) so shared upstream
/// stages run once, and run by one scheduler with `-j` workers. Each variant is recorded as its own
/// run, grouped under a sweep id; the end prints the ranked table.
public enum SweepCommands {
    public struct Options: Sendable {
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

    /// Runs the sweep, or the plain pipeline (`PipelineCommands.run`) when nothing is swept.
    public static func run(_ common: PipelineCommands.Common, sweep: Options, jobs: Int?, force: [String], dryRun: Bool,
                           liveView: Bool? = nil) -> Int32 {
        let loaded: (variants: [SweepVariant], spec: SweepSpec?)
        do {
            var overrides: [ParamOverride] = []
            for text in common.overrides { overrides.append(try ParamOverride.parse(text)) }
            let loader = PipelineLoader(workspace: try Workspace.locate(pipelineFile: common.pipelineFile))
            let parsed = try loader.parse(file: common.pipelineFile)
            let fileSweep = !sweep.ignoreFileSweep && parsed.spec.sweep.map { !$0.axes.isEmpty || !$0.variants.isEmpty } == true
            if sweep.sweeps.isEmpty && !fileSweep {
                return PipelineCommands.run(common, jobs: jobs, force: force, dryRun: dryRun, liveView: liveView)
            }
            loaded = (try loader.loadSweep(file: common.pipelineFile, overrides: overrides, sweeps: sweep.sweeps,
                                           includeFileSweep: !sweep.ignoreFileSweep), parsed.spec.sweep)
        } catch {
            stderr.write(error.description + "\n")
            return 2
        }
        let plan: SweepPlan
        do { plan = try SweepPlan(variants: loaded.variants) } catch {
            stderr.write("error: cannot merge the sweep's variants: \(error)\n")
            return 2
        }
        let stageNames = loaded.variants[0].pipeline.stages.map(\.name)
        for name in force where !stageNames.contains(name) {
            let hint = Suggestions.nearest(to: name, in: stageNames).map { " (did you mean '\($0)'?)" } ?? ""
            stderr.write("error: --force \(name): no stage named '\(name)' in \(common.pipelineFile)\(hint)\n")
            return 2
        }
        let rankBy = sweep.rankBy ?? (sweep.ignoreFileSweep ? nil : loaded.spec?.metric)
        let maximize = sweep.maximize ?? loaded.spec?.maximize ?? true
        guard let store = PipelineCommands.openStore(common) else { return 2 }
        let colour = PipelineCommands.useColour
        let forcedNodes = Set(plan.nodes.filter { force.contains($0.stage) }.map(\.name))

        stdout.write("sweep: \(plan.variants.count) variant\(plan.variants.count == 1 ? "" : "s"), "
                     + "\(plan.nodes.count) distinct stage\(plan.nodes.count == 1 ? "" : "s") "
                     + "(\(plan.variants.count * stageNames.count) without sharing)"
                     + (plan.labelAxes.map { "; swept stages show as stage[" + $0.joined(separator: ",") + "]" } ?? "") + "\n")
        if dryRun {
            let statuses = StatusPlanner(pipeline: plan.pipeline, pipelineFile: common.pipelineFile, store: store,
                                         threads: common.threads).plan(force: forcedNodes)
            stdout.write(StatusFormatter.text(statuses, pipeline: plan.pipeline, dryRun: true, colour: colour))
            return 0
        }

        var rerun = ["pipe", "run", ShellQuote.quote(common.pipelineFile)]
        for text in common.overrides { rerun += ["--set", ShellQuote.quote(text)] }
        for text in sweep.sweeps { rerun += ["--sweep", ShellQuote.quote(text)] }
        if let store = common.store { rerun += ["--store", ShellQuote.quote(store)] }
        if common.threads != 1 { rerun += ["--threads", String(common.threads)] }
        if common.executor.kind != .local { rerun += ["--executor", common.executor.kind.rawValue] }
        let options = RunOptions(jobs: jobs ?? common.executor.defaultJobs, force: forcedNodes, threads: common.threads, rerunCommand: rerun.joined(separator: " "))

        let recording = SweepRecording.start(store: store, plan: plan, pipelineFile: common.pipelineFile,
                                             rankBy: rankBy, maximize: maximize)
        let display: any RunDisplay = (liveView ?? stdout.isTerminal && ProcessInfo.processInfo.environment["TERM"] != "dumb")
            ? TerminalLiveView(output: stdout) : PlainEventLog(output: stdout)
        let executor = common.executor.makeExecutor(runLabel: recording?.sweepID ?? "unrecorded-sweep")
        let session = RunSession(pipeline: plan.pipeline, store: store, executor: executor, display: display,
                                 options: options, recorder: recording, runLabel: recording?.sweepID ?? "unrecorded-sweep")
        let signals = InterruptSignals()
        signals.install { [session] _ in session.interrupt() }
        let report = session.run()
        signals.uninstall()
        let statuses = plan.variants.indices.map { variantStatus($0, plan: plan, report: report) }
        recording?.finish(statuses)

        let count = { (predicate: (StageResult) -> Bool) in report.outcomes.values.filter(predicate).count }
        display.handle(.runFinished(RunSummary(
            runID: recording?.sweepID ?? "(unrecorded sweep)",
            ran: count { if case .ran = $0 { true } else { false } },
            cached: count { switch $0 { case .cached, .reused: true; default: false } },
            failed: count { if case .failed = $0 { true } else { false } },
            skipped: count { if case .skipped = $0 { true } else { false } },
            interrupted: report.status == .interrupted,
            seconds: report.finishedAt.timeIntervalSince(report.startedAt))))
        display.close()

        let table = SweepTable(
            rows: plan.variants.indices.map { v in
                SweepTable.Row(variant: plan.variants[v].name, runID: recording?.runIDs[v] ?? "-", status: statuses[v].rawValue,
                               params: SweepRecording.overrideTexts(plan.variants[v]),
                               metrics: metrics(ofVariant: v, plan: plan, report: report))
            },
            rankBy: rankBy, maximize: maximize, stageOrder: stageNames, sweptStages: sweptStages(plan))
        var out = "\n" + (rankBy.map { "ranked by \($0) (\(maximize ? "higher" : "lower") is better)\n" } ?? "")
        out += table.text(colour: colour)
        if let id = recording?.sweepID { out += "sweep \(id): pipe report --sweep \(id)\n" }
        stdout.write(out)

        if report.status == .succeeded {
            let variants = plan.variants.indices.compactMap { v in
                LockFileWriter.variant(name: plan.variants[v].name, overrides: SweepRecording.overrideTexts(plan.variants[v]),
                                       pipeline: plan.variants[v].pipeline, report: report, node: { plan.nodeOf[v][$0] ?? $0 })
            }
            if variants.count == plan.variants.count {
                LockFileWriter.write(LockFile(pipeline: plan.pipeline.name, file: URL(fileURLWithPath: common.pipelineFile).lastPathComponent,
                                              variants: variants, isSweep: true),
                                     to: LockFile.path(forPipeline: common.pipelineFile, sweep: true))
            }
        }
        return report.status.exitCode
    }

    static func variantStatus(_ v: Int, plan: SweepPlan, report: RunReport) -> RunResult {
        if report.status == .interrupted { return .interrupted }
        let outcomes = plan.nodeOf[v].values.compactMap { report.outcomes[$0] }
        return outcomes.allSatisfy(\.isAvailable) ? .succeeded : .failed
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

/// Records a sweep in the registry: one run per variant (through `RegistryRecorder`), grouped under
/// a sweep id. Receives the merged scheduler's stage results and fans them out to the variants using
/// each node. Registry problems are warnings: the sweep still runs.
final class SweepRecording: RunRecorder, @unchecked Sendable {
    let sweepID: String
    let runIDs: [String]
    private let recorders: [RegistryRecorder]
    private let plan: SweepPlan
    private let storeRoot: String

    private init(sweepID: String, recorders: [RegistryRecorder], plan: SweepPlan, storeRoot: String) {
        self.sweepID = sweepID
        self.recorders = recorders
        self.runIDs = recorders.map(\.runID)
        self.plan = plan
        self.storeRoot = storeRoot
    }

    static func start(store: ArtifactStore, plan: SweepPlan, pipelineFile: String, rankBy: String?, maximize: Bool) -> SweepRecording? {
        do {
            let registry = try store.openRegistry()
            let sweepID = try registry.startSweep(NewSweep(pipelinePath: RegistryRecorder.registryPath(of: pipelineFile),
                                                           name: plan.pipeline.name, rankBy: rankBy, maximize: maximize,
                                                           commandLine: CommandLine.arguments))
            var recorders: [RegistryRecorder] = []
            for (position, variant) in plan.variants.enumerated() {
                let recorder = try RegistryRecorder(registry: registry, store: store, pipeline: variant.pipeline,
                                                    pipelineFile: pipelineFile, commandLine: CommandLine.arguments)
                try registry.addSweepMember(sweepID: sweepID, SweepMember(runID: recorder.runID, variant: variant.name,
                                                                         position: position, overrides: overrideTexts(variant)))
                recorders.append(recorder)
            }
            return SweepRecording(sweepID: sweepID, recorders: recorders, plan: plan, storeRoot: store.root)
        } catch {
            FileHandle.standardError.write(Data("warning: the sweep will not be recorded: \(error)\n".utf8))
            return nil
        }
    }

    static func overrideTexts(_ variant: SweepVariant) -> [(target: String, value: String)] {
        var result: [(target: String, value: String)] = []
        for o in variant.overrides {
            let target = "\(o.stage).\(o.param)"
            let value = variant.pipeline.stage(named: o.stage)?.param(o.param)?.description ?? o.value.description
            if let i = result.firstIndex(where: { $0.target == target }) { result[i].value = value } else { result.append((target, value)) }
        }
        return result
    }

    func stageFinished(_ stage: ResolvedStage, outcome: StageResult, startedAt: Date?, finishedAt: Date?,
                       metrics: [(step: Int, name: String, value: Double)]) {
        for (v, original) in plan.uses(ofNode: stage.name) {
            recorders[v].stageFinished(original, outcome: outcome, startedAt: startedAt, finishedAt: finishedAt, metrics: metrics)
            if case .failed = outcome { keepFailedLog(node: stage.name, runID: runIDs[v], stage: original.name) }
        }
    }

    /// The scheduler keeps a failed stage's log as logs/failed/<sweep>/<node>.log; each variant's run
    /// gets a copy at logs/failed/<run>/<stage>.log, where `pipe log RUN STAGE` looks.
    private func keepFailedLog(node: String, runID: String, stage: String) {
        let source = storeRoot + "/logs/failed/\(sweepID)/" + node.replacingOccurrences(of: "/", with: "_") + ".log"
        let directory = storeRoot + "/logs/failed/\(runID)"
        guard FileManager.default.fileExists(atPath: source),
              (try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)) != nil else { return }
        let destination = directory + "/" + stage.replacingOccurrences(of: "/", with: "_") + ".log"
        try? FileManager.default.removeItem(atPath: destination)
        try? FileManager.default.copyItem(atPath: source, toPath: destination)
    }

    func finish(_ statuses: [RunResult]) {
        for (recorder, status) in zip(recorders, statuses) { recorder.finish(status) }
    }
}
