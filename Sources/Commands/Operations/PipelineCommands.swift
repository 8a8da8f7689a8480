import Engine
import Foundation
import Hashing
import Pipeline
import Store

/// The logic behind `pipe status` and `pipe dag` (`pipe run` is `RunCommands`); the `pipe`
/// executable only parses flags. Every function returns the process exit status: 0 ok, 2 usage or
/// validation error (diagnostic printed).
public enum PipelineCommands {
    /// What every command that loads a pipeline is given.
    public struct Common: Sendable {
        public var pipelineFile: String
        public var overrides: [String]
        public var store: String?
        /// `--threads`: the most threads one stage gets (nil: as many as the scheduler can give).
        public var threads: Int?
        /// Where stages run (`--executor`, the executor config file): local processes or Slurm jobs.
        public var executor: ExecutorSettings
        /// The built-in kinds and numeric environment of this binary (keys depend on them).
        public var runtime: StageRuntime

        public init(pipelineFile: String, overrides: [String] = [], store: String? = nil, threads: Int? = nil,
                    executor: ExecutorSettings = ExecutorSettings(), runtime: StageRuntime) {
            self.pipelineFile = pipelineFile
            self.overrides = overrides
            self.store = store
            self.threads = threads
            self.executor = executor
            self.runtime = runtime
        }

        /// The `--set` overrides, parsed.
        func parsedOverrides() throws(PipelineError) -> [ParamOverride] {
            var overrides: [ParamOverride] = []
            for text in self.overrides { overrides.append(try ParamOverride.parse(text)) }
            return overrides
        }
    }

    static let stdout = TerminalOutput(fd: 1)
    static let stderr = TerminalOutput(fd: 2)

    /// Loads and validates the pipeline, printing diagnostics on failure.
    static func load(_ common: Common) -> ResolvedPipeline? {
        do {
            return try PipelineLoader.load(file: common.pipelineFile, overrides: common.parsedOverrides())
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

    // MARK: status

    /// Plans exactly as `pipe run` does (the file's `sweep:` block and `--sweep` axes merged into one
    /// DAG, shared stages once) and prints each node's state.
    /// - Parameter remote: `--remote NAME|URL|PATH`: stages missing locally but on the remote show
    ///   as "cached (remote)".
    public static func status(_ common: Common, sweep: RunCommands.SweepOptions = .init(), remote remoteFlag: String? = nil) -> Int32 {
        guard let planned = RunCommands.plan(common, sweep: sweep), let store = openStore(common) else { return 2 }
        var remote: (any Remote)?
        if let remoteFlag {
            guard let resolved = RemoteCommands.resolve(remoteFlag, settings: common.executor) else { return 2 }
            remote = resolved
        }
        if planned.isSweep { stdout.write(RunCommands.sweepHeader(planned.plan)) }
        let statuses = RunCommands.dryRunStatuses(planned.plan, common: common, store: store, force: [], remote: remote)
        stdout.write(StatusFormatter.text(statuses, pipeline: planned.plan.pipeline, dryRun: false, colour: useColour))
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
            case .cachedRemote(let key): (label, tint) = ("cached (remote) " + key.short, ANSI.cyan)
            case .mustRun: (label, tint) = (dryRun ? "would run" : "must run", ANSI.yellow); toRun += 1
            case .afterUpstream: (label, tint) = (dryRun ? "would run" : "must run", ANSI.yellow); toRun += 1
            case .error: (label, tint) = ("error", ANSI.red); toRun += 1
            }
            let reasons = status.reasons.isEmpty ? "" : ": " + status.reasons.joined(separator: "; ")
            let line = "\(name)  \(label)\(reasons)"
            out += (colour ? tint + line + ANSI.reset : line) + "\n"
        }
        let remote = statuses.filter { if case .cachedRemote = $0.state { true } else { false } }.count
        if toRun == 0 {
            out += "\(pipeline.name): all \(statuses.count) stages cached" + (remote > 0 ? " (\(remote) on the remote)" : "") + "\n"
        } else {
            out += "\(pipeline.name): \(toRun) of \(statuses.count) stage\(statuses.count == 1 ? "" : "s") \(dryRun ? "would run (dry run: nothing was run)" : "must run")\n"
        }
        return out
    }
}
