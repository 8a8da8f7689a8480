import Foundation
import Hashing
import Pipeline
import StageWire
import Store

/// One execution of one stage: lays out its staging directory, runs it through an executor, checks
/// and ingests its declared outputs and log, and commits the stage record. Runs on a worker thread.
///
/// Staging layout (under the store's tmp/, removed afterwards whatever happens):
///
///     work/               working directory; declared deps are copied here at their workspace paths
///     outs/<name>         declared outputs (`${outs.NAME}`; built-ins get a directory each)
///     scratch/            built-in scratch space
///     invocation.json     built-ins: what `pipe _stage` runs
///     threads             built-ins on local cores: the threads they may use now (`ThreadBudgetFile`)
///     events.jsonl        progress and metric events (JSON lines, `$PIPE_EVENTS`)
///     log.txt             stdout + stderr; becomes the stage's log artifact
final class StageBuild: @unchecked Sendable {
    let stage: ResolvedStage
    let key: Digest
    let material: KeyMaterial
    let inputPaths: [String: String]
    let workspaceRoot: String
    let seed: UInt64
    /// The threads the stage may use (changing while an elastic built-in runs).
    let grant: StageThreadGrant
    /// The kernels the key was computed for; the stage process checks it runs the same.
    let kernelSignature: String?

    private(set) var metrics: [(step: Int, name: String, value: Double)] = []
    private var reader: EventsFileReader?
    private let readerLock = NSLock()

    init(stage: ResolvedStage, key: Digest, material: KeyMaterial, inputPaths: [String: String],
         workspaceRoot: String, seed: UInt64, grant: StageThreadGrant, kernelSignature: String?) {
        self.stage = stage
        self.key = key
        self.material = material
        self.inputPaths = inputPaths
        self.workspaceRoot = workspaceRoot
        self.seed = seed
        self.grant = grant
        self.kernelSignature = kernelSignature
    }

    enum Result {
        case built(StageRecord)
        /// Another process committed the key while we waited for its lock.
        case reused(StageRecord)
        /// Downloaded from the remote cache (bytes moved).
        case pulled(StageRecord, bytes: Int64)
        case failed(reason: String, logTail: [String], logPath: String?)
        case interrupted
    }

    /// Takes the key's lock, re-checks the record, runs, ingests and commits.
    /// With `forced`, an existing record is not reused: the stage runs and its record is replaced.
    /// While another process holds the key's lock, polls (so an interrupt is noticed) and reports
    /// who holds it through `onWaiting`.
    /// With a `remote`, a key missing locally is first looked up there and downloaded (under the
    /// key's lock); a remote that fails is reported through `onRemoteFailure` and the stage runs locally.
    func run(store: ArtifactStore, executor: any Executor, runLabel: String, forced: Bool, remote: (any Remote)? = nil,
             isInterrupted: () -> Bool = { false }, onWaiting: (String) -> Void = { _ in },
             onRemoteFailure: (any Error) -> Void = { _ in },
             onStart: () -> Void, onEvent: (StageEvent) -> Void) -> Result {
        do {
            var lock = try store.tryLock(key: key)
            if lock == nil { onWaiting(store.lockHolder(key: key) ?? "another pipe process") }
            var pause: UInt32 = 5_000
            while lock == nil {
                if isInterrupted() { return .interrupted }
                usleep(pause)
                pause = min(pause * 2, 100_000)
                lock = try store.tryLock(key: key)
            }
            defer { lock?.unlock() }
            if !forced, let record = store.record(forKey: key) { return .reused(record) }
            if !forced, let remote {
                let progress = TransferProgress()
                do {
                    if let record = try remote.pull(key: key, into: store, progress: progress) {
                        return .pulled(record, bytes: progress.tally.bytesMoved)
                    }
                } catch {
                    onRemoteFailure(error)
                }
            }
            onStart()
            return try build(store: store, executor: executor, runLabel: runLabel,
                             lockDescriptor: lock?.fileDescriptor, onEvent: onEvent)
        } catch {
            return .failed(reason: "\(error)", logTail: [], logPath: nil)
        }
    }

    private func build(store: ArtifactStore, executor: any Executor, runLabel: String,
                       lockDescriptor: Int32?, onEvent: (StageEvent) -> Void) throws -> Result {
        let staging = try store.makeStagingDirectory(label: stage.name)
        defer { staging.remove() }
        let base = staging.path
        let work = base + "/work", outs = base + "/outs", scratch = base + "/scratch"
        let eventsPath = base + "/events.jsonl", logPath = base + "/log.txt"
        for directory in [work, outs, scratch] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        _ = FileManager.default.createFile(atPath: eventsPath, contents: nil)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        try DepMaterialiser.materialise(stage.deps, from: workspaceRoot, into: work)
        try PathInputs.materialise(stage, material: material, from: workspaceRoot, into: store)

        var outputPaths: [String: String] = [:]
        for name in stage.outputs { outputPaths[name] = outs + "/" + name }
        // Kept across executions of this key (we hold its lock): a killed training stage continues.
        let resume = try store.resumeDirectory(forKey: key)
        let threadBudgetPath = try grant.attach(directory: base)
        defer { grant.detach() }
        let threads = grant.threads

        let program: StageJob.Program
        switch stage.implementation {
        case .builtin(let builtin):
            let invocation = StageInvocation(
                kind: builtin, stageName: stage.name,
                params: Dictionary(uniqueKeysWithValues: stage.params.map { ($0.name, $0.value.invocationParam) }),
                inputs: inputPaths, outputs: outputPaths, seed: seed, threads: threads,
                scratchPath: scratch, eventsPath: eventsPath, blasCore: kernelSignature, resumeDirectory: resume,
                inputSources: Dictionary(uniqueKeysWithValues: stage.inputs.map { ($0.name, $0.reference) }
                    + stage.pathInputs.map { ($0.name, $0.path) }),
                threadBudgetPath: threadBudgetPath)
            let invocationPath = base + "/invocation.json"
            try JSONEncoder().encode(invocation).write(to: URL(fileURLWithPath: invocationPath))
            program = .builtin(invocationPath: invocationPath)
        case .command:
            guard let command = stage.expandedCommand(inputPaths: inputPaths, outputPaths: outputPaths) else {
                throw RunnerError.usage("stage '\(stage.name)' has no command")
            }
            program = .command(command)
        }

        var environment = ProcessInfo.processInfo.environment
        // Built-ins run their own pool of `threads` workers, each with a single-threaded BLAS.
        let blasThreads = stage.commandTemplate == nil ? 1 : threads
        environment["OPENBLAS_NUM_THREADS"] = String(blasThreads)
        environment["OMP_NUM_THREADS"] = String(blasThreads)
        environment["PIPE_THREADS"] = String(threads)
        environment["PIPE_EVENTS"] = eventsPath
        environment["PIPE_STAGE"] = stage.name
        environment["PIPE_SEED"] = String(seed)
        environment["PIPE_SCRATCH"] = scratch
        environment["PIPE_RESUME"] = resume
        var job = StageJob(stageName: stage.name, program: program, workingDirectory: work,
                           environment: environment.keys.sorted().map { "\($0)=\(environment[$0]!)" },
                           logPath: logPath, eventsPath: eventsPath, resources: stage.resources.dictionary)
        job.lockDescriptor = lockDescriptor
        readerLock.lock(); reader = EventsFileReader(path: eventsPath); readerLock.unlock()

        let startedAt = Date()
        let outcome = executor.execute(job)
        let finishedAt = Date()
        let cpuSeconds: Double?
        pollEvents(onEvent)

        switch outcome {
        case .interrupted:
            return .interrupted
        case .failed(let reason):
            let full = store.diskFullNote().map { " — \($0)" } ?? ""
            return .failed(reason: reason + full, logTail: LogTail.lines(of: logPath),
                           logPath: store.keepFailedLog(logPath, run: runLabel, stage: stage.name))
        case .succeeded(let cpu):
            cpuSeconds = cpu
        }
        for name in stage.outputs where !FileManager.default.fileExists(atPath: outputPaths[name]!) {
            let reason = RunnerError.missingOutput(stage: stage.name, output: name, path: "${outs.\(name)}").description
                + (stage.commandTemplate != nil ? " — the command must create a file or directory at ${outs.\(name)}" : "")
            return .failed(reason: reason, logTail: LogTail.lines(of: logPath),
                           logPath: store.keepFailedLog(logPath, run: runLabel, stage: stage.name))
        }
        if !stage.metricsFiles.isEmpty {
            switch recordDeclaredMetrics(outputPaths: outputPaths, logPath: logPath) {
            case .success: break
            case .failure(let problem):
                return .failed(reason: problem.description, logTail: LogTail.lines(of: logPath),
                               logPath: store.keepFailedLog(logPath, run: runLabel, stage: stage.name))
            }
        }
        var outputs: [String: Digest] = [:]
        // An out inside another (`outs: [results, results/deep]`) is its own artifact: ingest the
        // deeper paths first, so the outer one never takes the inner one's files (in the other order
        // the inner path was gone and the stage failed).
        let ingestOrder = stage.outputs.enumerated().sorted { a, b in
            let (depthA, depthB) = (a.element.split(separator: "/").count, b.element.split(separator: "/").count)
            return depthA != depthB ? depthA > depthB : a.offset < b.offset
        }.map(\.element)
        for name in ingestOrder { outputs[name] = try store.ingest(outputPaths[name]!) }
        let logDigest = try store.ingest(logPath)
        var summary: [String: Double] = [:]
        for point in metrics { summary[point.name] = point.value }
        let record = StageRecord(key: key, stage: stage.name, keyMaterial: try material.jsonValue(), outputs: outputs,
                                 log: logDigest, metrics: summary, startedAt: startedAt, finishedAt: finishedAt,
                                 exitStatus: 0, cpuSeconds: cpuSeconds)
        try store.commit(record)
        store.removeResumeDirectory(forKey: key)
        return .built(record)
    }

    /// Adds the numbers of the stage's declared metrics files to its metrics, at the last step it
    /// reported through events (0 if none), after them; what was left out is noted in the log.
    private func recordDeclaredMetrics(outputPaths: [String: String], logPath: String) -> Swift.Result<Void, DeclaredMetricsError> {
        switch DeclaredMetrics.read(stage, outputPaths: outputPaths) {
        case .failure(let problem): return .failure(problem)
        case .success(let reading):
            if !reading.notes.isEmpty, let log = FileHandle(forWritingAtPath: logPath) {
                _ = try? log.seekToEnd()
                try? log.write(contentsOf: Data(reading.notes.map { $0 + "\n" }.joined().utf8))
                try? log.close()
            }
            readerLock.lock()
            let step = metrics.map(\.step).max() ?? 0
            metrics += reading.values.map { (step: step, name: $0.name, value: $0.value) }
            readerLock.unlock()
            return .success(())
        }
    }

    /// Reads new events (called by the live-view ticker while running, and once at the end).
    func pollEvents(_ onEvent: (StageEvent) -> Void) {
        readerLock.lock()
        let events = reader?.readNew() ?? []
        for event in events where event.type == .metrics {
            if let step = event.step { for (name, value) in event.metricPairs { metrics.append((step, name, value)) } }
        }
        readerLock.unlock()
        for event in events { onEvent(event) }
    }
}

/// The last lines of a log file (for failure reports).
enum LogTail {
    static func lines(of path: String, count: Int = 20) -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        let start = size > 64 * 1024 ? size - 64 * 1024 : 0
        try? handle.seek(toOffset: start)
        let data = (try? handle.readToEnd()) ?? Data()
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return Array(lines.suffix(count))
    }
}

/// Makes declared deps reachable from the stage's working directory at their workspace-relative
/// paths. Small files and directories are copied (a command cannot corrupt the workspace through
/// them); files over 64 MiB are symlinked to avoid copying gigabytes.
enum DepMaterialiser {
    static let copyLimit: Int64 = 64 << 20

    static func materialise(_ deps: [String], from workspace: String, into work: String) throws {
        let manager = FileManager.default
        for dep in deps {
            let source = workspace + "/" + dep
            let destination = work + "/" + dep
            try manager.createDirectory(atPath: (destination as NSString).deletingLastPathComponent,
                                        withIntermediateDirectories: true)
            guard let attributes = try? manager.attributesOfItem(atPath: source) else {
                throw RunnerError.io("dep '\(dep)' does not exist in the workspace (\(source))")
            }
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            if attributes[.type] as? FileAttributeType == .typeRegular, size > copyLimit {
                try manager.createSymbolicLink(atPath: destination, withDestinationPath: source)
            } else {
                try manager.copyItem(atPath: source, toPath: destination)
            }
        }
    }
}

extension ParamValue {
    /// The value as the stage process receives it.
    var invocationParam: StageInvocation.Param {
        switch self {
        case .int(let v): return .int(v)
        case .float(let v): return .float(v)
        case .string(let v): return .string(v)
        case .bool(let v): return .bool(v)
        case .list(let items): return .list(items.map(\.invocationParam))
        }
    }
}

extension Resources {
    var dictionary: [String: String] {
        var result: [String: String] = [:]
        if let cpus { result["cpus"] = String(cpus) }
        if let gpus { result["gpus"] = String(gpus) }
        if let mem { result["mem"] = mem }
        if let time { result["time"] = time }
        return result
    }
}
