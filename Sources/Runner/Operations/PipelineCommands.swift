import Foundation
import Hashing
import Pipeline
import Store

/// The logic behind `pipe run`, `pipe status` and `pipe dag`; the `pipe` executable only parses
/// flags. Every function returns the process exit status: 0 ok, 1 a stage failed, 2 usage or
/// validation error (diagnostic printed), 130 interrupted.
public enum PipelineCommands {
    public struct Common: Sendable {
        public var pipelineFile: String
        public var overrides: [String]
        public var store: String?
        public var threads: Int
        /// Where stages run (`--executor`, the executor config file): local processes or Slurm jobs.
        public var executor: ExecutorSettings

        public init(pipelineFile: String, overrides: [String] = [], store: String? = nil, threads: Int = 1,
                    executor: ExecutorSettings = ExecutorSettings()) {
            self.pipelineFile = pipelineFile
            self.overrides = overrides
            self.store = store
            self.threads = threads
            self.executor = executor
        }
    }

    static let stdout = TerminalOutput(fd: 1)
    static let stderr = TerminalOutput(fd: 2)

    /// Loads and validates the pipeline, printing diagnostics on failure.
    static func load(_ common: Common) -> ResolvedPipeline? {
        do {
            var overrides: [ParamOverride] = []
            for text in common.overrides { overrides.append(try ParamOverride.parse(text)) }
            return try PipelineLoader.load(file: common.pipelineFile, overrides: overrides)
        } catch {
            stderr.write(error.description + "\n")
            return nil
        }
    }

    static func openStore(_ common: Common) -> ArtifactStore? {
        do {
            return try ArtifactStore(root: ArtifactStore.resolveRoot(explicit: common.store))
        } catch {
            stderr.write("error: cannot open the artifact store: \(error)\n")
            return nil
        }
    }

    // MARK: run

    public static func run(_ common: Common, jobs: Int?, force: [String], dryRun: Bool, liveView: Bool? = nil) -> Int32 {
        guard let pipeline = load(common) else { return 2 }
        for name in force where pipeline.stage(named: name) == nil {
            let names = pipeline.stages.map(\.name)
            let hint = Suggestions.nearest(to: name, in: names).map { " (did you mean '\($0)'?)" } ?? ""
            stderr.write("error: --force \(name): no stage named '\(name)' in \(common.pipelineFile)\(hint); stages: \(names.joined(separator: ", "))\n")
            return 2
        }
        guard let store = openStore(common) else { return 2 }
        if dryRun {
            let statuses = StatusPlanner(pipeline: pipeline, pipelineFile: common.pipelineFile, store: store,
                                         threads: common.threads).plan(force: Set(force))
            stdout.write(StatusFormatter.text(statuses, pipeline: pipeline, dryRun: true, colour: useColour))
            return 0
        }

        var rerun = ["pipe", "run", ShellQuote.quote(common.pipelineFile)]
        for text in common.overrides { rerun += ["--set", ShellQuote.quote(text)] }
        if let store = common.store { rerun += ["--store", ShellQuote.quote(store)] }
        if common.threads != 1 { rerun += ["--threads", String(common.threads)] }
        if common.executor.kind != .local { rerun += ["--executor", common.executor.kind.rawValue] }
        let options = RunOptions(jobs: jobs ?? common.executor.defaultJobs, force: Set(force), threads: common.threads, rerunCommand: rerun.joined(separator: " "))

        let recorder: RegistryRecorder?
        do {
            recorder = try RegistryRecorder(registry: try store.openRegistry(), store: store, pipeline: pipeline,
                                            pipelineFile: common.pipelineFile, commandLine: CommandLine.arguments)
        } catch {
            stderr.write("warning: the run will not be recorded: cannot open the run registry: \(error)\n")
            recorder = nil
        }
        let display: any RunDisplay = (liveView ?? stdout.isTerminal && ProcessInfo.processInfo.environment["TERM"] != "dumb")
            ? TerminalLiveView(output: stdout) : PlainEventLog(output: stdout)
        let executor = common.executor.makeExecutor(runLabel: recorder?.runID ?? "unrecorded")
        let session = RunSession(pipeline: pipeline, store: store, executor: executor, display: display,
                                 options: options, recorder: recorder, runLabel: recorder?.runID ?? "unrecorded")
        let signals = InterruptSignals()
        signals.install { [session] _ in session.interrupt() }
        let report = session.run()
        signals.uninstall()
        recorder?.finish(report.status)
        LockFileWriter.writeAfterRun(pipeline: pipeline, pipelineFile: common.pipelineFile, report: report)  // issue 5

        let count = { (predicate: (StageResult) -> Bool) in report.outcomes.values.filter(predicate).count }
        let summary = RunSummary(
            runID: recorder?.runID ?? "(unrecorded)",
            ran: count { if case .ran = $0 { true } else { false } },
            cached: count { switch $0 { case .cached, .reused: true; default: false } },
            failed: count { if case .failed = $0 { true } else { false } },
            skipped: count { if case .skipped = $0 { true } else { false } },
            interrupted: report.status == .interrupted,
            seconds: report.finishedAt.timeIntervalSince(report.startedAt))
        display.handle(.runFinished(summary))
        display.close()
        return report.status.exitCode
    }

    // MARK: status

    public static func status(_ common: Common) -> Int32 {
        guard let pipeline = load(common), let store = openStore(common) else { return 2 }
        let statuses = StatusPlanner(pipeline: pipeline, pipelineFile: common.pipelineFile, store: store,
                                     threads: common.threads).plan()
        stdout.write(StatusFormatter.text(statuses, pipeline: pipeline, dryRun: false, colour: useColour))
        return 0
    }

    // MARK: dag

    public enum DAGFormat: String, CaseIterable, Sendable { case text, mermaid, dot }

    public static func dag(_ common: Common, format: DAGFormat) -> Int32 {
        guard let pipeline = load(common) else { return 2 }
        let text: String = switch format {
        case .text: DAGRendering.text(pipeline)
        case .mermaid: DAGRendering.mermaid(pipeline)
        case .dot: DAGRendering.dot(pipeline)
        }
        stdout.write(text.hasSuffix("\n") ? text : text + "\n")
        return 0
    }

    static var useColour: Bool {
        stdout.isTerminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }
}

/// Renders `pipe status` / `pipe run --dry-run`.
enum StatusFormatter {
    static func text(_ statuses: [StageStatus], pipeline: ResolvedPipeline, dryRun: Bool, colour: Bool) -> String {
        let width = statuses.map(\.stage.count).max() ?? 0
        var out = ""
        var toRun = 0
        for status in statuses {
            let name = status.stage.padding(toLength: width, withPad: " ", startingAt: 0)
            let (label, tint): (String, String)
            switch status.state {
            case .cached(let key): (label, tint) = ("cached       " + key.short, ANSI.green)
            case .mustRun: (label, tint) = (dryRun ? "would run" : "must run", ANSI.yellow); toRun += 1
            case .afterUpstream: (label, tint) = (dryRun ? "would run" : "must run", ANSI.yellow); toRun += 1
            case .error: (label, tint) = ("error", ANSI.red); toRun += 1
            }
            let reasons = status.reasons.isEmpty ? "" : ": " + status.reasons.joined(separator: "; ")
            let line = "\(name)  \(label)\(reasons)"
            out += (colour ? tint + line + ANSI.reset : line) + "\n"
        }
        if toRun == 0 {
            out += "\(pipeline.name): all \(statuses.count) stages cached\n"
        } else {
            out += "\(pipeline.name): \(toRun) of \(statuses.count) stage\(statuses.count == 1 ? "" : "s") \(dryRun ? "would run (dry run: nothing was run)" : "must run")\n"
        }
        return out
    }
}

/// Nearest-name suggestions for misspelt stage names.
enum Suggestions {
    static func nearest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(Array(word), Array($0))) }.min { $0.1 < $1.1 }
        guard let (best, score) = scored, score <= max(2, word.count / 3) else { return nil }
        return best
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
