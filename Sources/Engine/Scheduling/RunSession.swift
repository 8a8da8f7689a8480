import Foundation
import Hashing
import Pipeline
import StageWire
import Store

/// Result of one `pipe run`.
public struct RunReport: Sendable {
    public var status: RunStatus
    /// Stage name → outcome, for every stage of the pipeline.
    public var outcomes: [String: StageResult]
    /// Stage name → key material (for stages that could be keyed).
    public var materials: [String: KeyMaterial]
    /// Stage name → (step, metric, value) series reported while it ran.
    public var metrics: [String: [(step: Int, name: String, value: Double)]]
    /// Stage name → record (cached, ran or reused stages).
    public var records: [String: StageRecord]
    public var startedAt: Date
    public var finishedAt: Date
}

/// Receives a run's progress for the registry; `RegistryRecorder` writes it to runs.sqlite.
public protocol RunRecorder: AnyObject {
    func stageFinished(_ stage: ResolvedStage, outcome: StageResult, startedAt: Date?, finishedAt: Date?,
                       metrics: [(step: Int, name: String, value: Double)])
    /// Same, with the stage record the scheduler already holds (cached, ran or reused stages), so
    /// recorders need not read it again. Defaults to the variant without the record.
    func stageFinished(_ stage: ResolvedStage, outcome: StageResult, record: StageRecord?, startedAt: Date?,
                       finishedAt: Date?, metrics: [(step: Int, name: String, value: Double)])
}

extension RunRecorder {
    public func stageFinished(_ stage: ResolvedStage, outcome: StageResult, record: StageRecord?, startedAt: Date?,
                              finishedAt: Date?, metrics: [(step: Int, name: String, value: Double)]) {
        stageFinished(stage, outcome: outcome, startedAt: startedAt, finishedAt: finishedAt, metrics: metrics)
    }
}

/// The scheduler: walks the DAG with a ready queue, keys each stage once its inputs are known,
/// takes cached results from the store and runs the rest on up to `jobs` worker threads.
///
/// One coordinating thread (the caller's) owns all scheduling state; workers only post results to a
/// mailbox. Keys use upstream *output digests*, so a stage that reruns with identical bytes leaves
/// its dependents cached (early cutoff).
public final class RunSession: @unchecked Sendable {
    let pipeline: ResolvedPipeline
    let store: ArtifactStore
    let executor: any Executor
    let display: any RunDisplay
    let options: RunOptions
    weak var recorder: (any RunRecorder)?
    private let keyer: StageKeyer
    private let profile = RunProfile.shared
    /// Names this run's failed-stage logs (`logs/failed/<runLabel>/`).
    private let runLabel: String

    private let mailbox = NSCondition()
    private var completions: [(index: Int, result: StageBuild.Result, started: Date, finished: Date)] = []
    private var interruptRequested = false
    private var running: [Int: StageBuild] = [:]

    public init(pipeline: ResolvedPipeline, store: ArtifactStore, executor: any Executor, display: any RunDisplay,
                options: RunOptions, recorder: (any RunRecorder)? = nil, runLabel: String = "run") {
        self.pipeline = pipeline
        self.store = store
        self.executor = executor
        self.display = display
        self.options = options
        self.recorder = recorder
        self.keyer = StageKeyer(pipeline: pipeline, store: store, runtime: options.runtime)
        self.runLabel = runLabel
    }

    /// Stops the run: running stages get SIGTERM (then SIGKILL), nothing new starts. Any thread.
    public func interrupt() {
        mailbox.lock()
        interruptRequested = true
        mailbox.broadcast()
        mailbox.unlock()
        executor.interrupt()
    }

    public func run() -> RunReport {
        let startedAt = Date()
        let stages = pipeline.stages
        let index = Dictionary(uniqueKeysWithValues: stages.enumerated().map { ($0.element.name, $0.offset) })
        var dependents = Array(repeating: [Int](), count: stages.count)
        var waitingOn = Array(repeating: 0, count: stages.count)
        for (i, stage) in stages.enumerated() {
            let upstream = stage.upstreamStages.compactMap { index[$0] }
            waitingOn[i] = upstream.count
            for u in upstream { dependents[u].append(i) }
        }
        // Ready stages start longest remaining chain first (then in pipeline order): a sweep's
        // expensive roots (every seed's SFT) start early and the many short leaves fill the cores at
        // the end, instead of one seed's whole chain running last on cores the others left idle.
        let depth = Self.chainLengths(dependents: dependents)
        func startsBefore(_ a: Int, _ b: Int) -> Bool { depth[a] != depth[b] ? depth[a] > depth[b] : a < b }
        var ready = (0..<stages.count).filter { waitingOn[$0] == 0 }.sorted(by: startsBefore)
        var keyed: [Int: StageKeyer.Keyed] = [:]
        var outcomes: [String: StageResult] = [:]
        var records: [String: StageRecord] = [:]
        var materials: [String: KeyMaterial] = [:]
        var metrics: [String: [(step: Int, name: String, value: Double)]] = [:]
        var runningCount = 0
        /// The thread grants of running stages (index → grant), for sharing out the cores.
        var grants: [Int: StageThreadGrant] = [:]
        var interrupted = false

        display.handle(.planned(stages: stages.map(\.name), executor: executor.name))
        let ticker = startEventTicker()
        defer { ticker.stop() }

        func settle(_ i: Int, _ outcome: StageResult, record: StageRecord? = nil,
                    started: Date? = nil, finished: Date? = nil) {
            let stage = stages[i]
            outcomes[stage.name] = outcome
            if let record { records[stage.name] = record }
            recorder?.stageFinished(stage, outcome: outcome, record: record, startedAt: started, finishedAt: finished,
                                    metrics: metrics[stage.name] ?? [])
            if outcome.isAvailable {
                for d in dependents[i] {
                    waitingOn[d] -= 1
                    if waitingOn[d] == 0, outcomes[stages[d].name] == nil { insertReady(d) }
                }
                return
            }
            // Not available: everything downstream cannot be keyed.
            if case .interrupted = outcome { return }
            var stack = dependents[i]
            while let d = stack.popLast() {
                let name = stages[d].name
                guard outcomes[name] == nil else { continue }
                outcomes[name] = .skipped(because: "\(stage.name) failed")
                display.handle(.skipped(stage: name, because: "\(stage.name) failed"))
                recorder?.stageFinished(stages[d], outcome: outcomes[name]!, startedAt: nil, finishedAt: nil, metrics: [])
                stack.append(contentsOf: dependents[d])
            }
        }
        func insertReady(_ i: Int) {
            let position = ready.firstIndex { startsBefore(i, $0) } ?? ready.endIndex
            ready.insert(i, at: position)
        }

        while true {
            // 1. Results from workers.
            mailbox.lock()
            let done = completions
            completions.removeAll()
            interrupted = interruptRequested
            let finishedExecutions = self.finishedExecutions
            mailbox.unlock()
            for completion in done {
                runningCount -= 1
                grants[completion.index] = nil
                let stage = stages[completion.index]
                let seconds = completion.finished.timeIntervalSince(completion.started)
                let key = keyed[completion.index]?.key
                metrics[stage.name] = finishedExecutions[stage.name]?.metrics ?? []
                switch completion.result {
                case .built(let record):
                    display.handle(.finished(stage: stage.name, seconds: seconds, reused: false))
                    settle(completion.index, .ran(key: record.key, seconds: seconds), record: record,
                           started: completion.started, finished: completion.finished)
                case .reused(let record):
                    display.handle(.finished(stage: stage.name, seconds: seconds, reused: true))
                    settle(completion.index, .reused(key: record.key), record: record)
                case .pulled(let record, let bytes):
                    display.handle(.pulled(stage: stage.name, seconds: seconds, bytes: bytes))
                    settle(completion.index, .pulled(key: record.key, seconds: seconds, bytes: bytes), record: record)
                case .failed(let reason, let logTail, let logPath):
                    var rerun = options.rerunCommand
                    if let logPath { rerun += "\n    full log: \(logPath)" }
                    display.handle(.failed(stage: stage.name, seconds: seconds, reason: reason, logTail: logTail, rerunCommand: rerun))
                    settle(completion.index, .failed(key: key, reason: reason),
                           started: completion.started, finished: completion.finished)
                case .interrupted:
                    display.handle(.interrupted(stage: stage.name))
                    settle(completion.index, .interrupted(key: key), started: completion.started, finished: completion.finished)
                }
            }
            // 2. Start what is ready, longest remaining chain first.
            if !interrupted {
                var starting: [Int] = []
                var position = 0
                while position < ready.count {
                    let i = ready[position]
                    let stage = stages[i]
                    if keyed[i] == nil {
                        do {
                            let keyedStage = try profile.measure("run: key stages") { try keyer.key(stage, upstream: records) }
                            keyed[i] = keyedStage
                            materials[stage.name] = keyedStage.material
                        } catch {
                            ready.remove(at: position)
                            display.handle(.failed(stage: stage.name, seconds: 0, reason: "\(error)", logTail: [], rerunCommand: options.rerunCommand))
                            settle(i, .failed(key: nil, reason: "\(error)"))
                            continue
                        }
                        let key = keyed[i]!.key
                        if !options.force.contains(stage.name),
                           let record = profile.measure("run: look up records", { store.record(forKey: key) }) {
                            ready.remove(at: position)
                            display.handle(.cached(stage: stage.name))
                            settle(i, .cached(key: key), record: record)
                            position = 0  // dependents may have become ready ahead of us
                            continue
                        }
                        display.handle(.queued(stage: stage.name))
                    }
                    if runningCount + starting.count >= options.jobs { break }
                    ready.remove(at: position)
                    starting.append(i)
                }
                // The stages starting now and the running built-ins that follow their grant share the
                // cores the others hold fixed: a stage that finishes leaves its cores to those still
                // running, a stage that starts takes its fair share back. Lowered grants go out first.
                let participants = (grants.filter { $0.value.isElastic }.map(\.key) + starting).sorted()
                let busy = grants.values.filter { !$0.isElastic }.map(\.threads).reduce(0, +)
                let shares = zip(participants, options.coreShares(stages: participants.count, busy: busy))
                for (i, share) in shares.sorted(by: { $0.1 < $1.1 }) { grants[i]?.change(to: share) }
                for (i, share) in shares where grants[i] == nil {
                    runningCount += 1
                    let grant = StageThreadGrant(threads: share, isElastic: StageThreadGrant.isElastic(stages[i], executor: executor))
                    grants[i] = grant
                    startWorker(i, keyed: keyed[i]!, forced: options.force.contains(stages[i].name), grant: grant)
                }
            }
            if runningCount == 0 && (ready.isEmpty || interrupted) { break }
            mailbox.lock()
            if completions.isEmpty && interruptRequested == interrupted { mailbox.wait() }
            mailbox.unlock()
        }

        for stage in stages where outcomes[stage.name] == nil {
            let outcome: StageResult = interrupted ? .interrupted(key: nil) : .skipped(because: "not reached")
            outcomes[stage.name] = outcome
            recorder?.stageFinished(stage, outcome: outcome, startedAt: nil, finishedAt: nil, metrics: [])
        }
        profile.measure("run: save record index") { store.saveRecordIndex() }
        let failed = outcomes.values.contains { if case .failed = $0 { true } else { false } }
        let status: RunStatus = interrupted ? .interrupted : (failed ? .failed : .succeeded)
        return RunReport(status: status, outcomes: outcomes, materials: materials, metrics: metrics,
                         records: records, startedAt: startedAt, finishedAt: Date())
    }

    private var finishedExecutions: [String: StageBuild] = [:]
    /// Set when the remote cache could not be reached: later stages stop asking it (each attempt
    /// would wait through the retries again) and simply run.
    private var remoteUnavailable = false

    private var usableRemote: (any Remote)? {
        mailbox.lock(); defer { mailbox.unlock() }
        return remoteUnavailable ? nil : options.remote
    }

    private func remoteFailed(_ error: any Error, stage: String) {
        var message = "\(error); running it here instead"
        if case .unavailable = error as? RemoteError {
            mailbox.lock(); remoteUnavailable = true; mailbox.unlock()
            message += " (and not asking the remote again in this run)"
        }
        display.handle(.warning(stage: stage, message: message))
    }

    private func startWorker(_ i: Int, keyed: StageKeyer.Keyed, forced: Bool, grant: StageThreadGrant) {
        let stage = pipeline.stages[i]
        let execution = StageBuild(stage: stage, key: keyed.key, material: keyed.material, inputPaths: keyed.inputPaths,
                                   workspaceRoot: pipeline.workspace.root, seed: stage.seed, grant: grant,
                                   kernelSignature: options.runtime.numeric.kernelSignature)
        let thread = Thread { [self] in
            var started = Date()
            let result = execution.run(store: store, executor: executor, runLabel: runLabel, forced: forced, remote: usableRemote,
                                       isInterrupted: { [self] in
                                           mailbox.lock(); defer { mailbox.unlock() }
                                           return interruptRequested
                                       },
                                       onWaiting: { [display] holder in display.handle(.waiting(stage: stage.name, holder: holder)) },
                                       onRemoteFailure: { [self] error in remoteFailed(error, stage: stage.name) },
                                       onStart: {
                                           started = Date()
                                           mailbox.lock(); running[i] = execution; mailbox.unlock()
                                           display.handle(.started(stage: stage.name))
                                           grant.started { [display] count in display.handle(.threads(stage: stage.name, count: count)) }
                                       },
                                       onEvent: { [display] event in Self.forward(event, stage: stage.name, to: display) })
            mailbox.lock()
            running[i] = nil
            finishedExecutions[stage.name] = execution
            completions.append((i, result, started, Date()))
            mailbox.signal()
            mailbox.unlock()
        }
        thread.name = "pipe.worker." + stage.name
        thread.start()
    }

    /// For each stage, the number of stages on the longest path from it to a stage nothing depends
    /// on, itself included (a leaf is 1). `dependents` describe a DAG (the pipeline is checked acyclic).
    static func chainLengths(dependents: [[Int]]) -> [Int] {
        var length = Array(repeating: 0, count: dependents.count)  // 0: not yet known
        func measure(_ i: Int) -> Int {
            if length[i] == 0 { length[i] = 1 + (dependents[i].map(measure).max() ?? 0) }
            return length[i]
        }
        for i in dependents.indices { _ = measure(i) }
        return length
    }

    static func forward(_ event: StageEvent, stage: String, to display: any RunDisplay) {
        if event.type == .progress, let step = event.step {
            display.handle(.progress(stage: stage, step: step, total: event.total, message: event.message ?? ""))
        }
    }

    /// Tails the events files of running stages for the live view.
    private func startEventTicker() -> Ticker {
        let ticker = Ticker(interval: 0.2) { [self] in
            mailbox.lock()
            let current = running.map { (pipeline.stages[$0.key].name, $0.value) }
            mailbox.unlock()
            for (name, execution) in current {
                execution.pollEvents { Self.forward($0, stage: name, to: display) }
            }
        }
        ticker.start()
        return ticker
    }
}

/// Calls `body` every `interval` seconds on its own thread until stopped.
final class Ticker: @unchecked Sendable {
    private let interval: Double
    private let body: @Sendable () -> Void
    private let condition = NSCondition()
    private var stopped = false

    init(interval: Double, body: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.body = body
    }

    func start() {
        Thread.detachNewThread { [self] in
            while true {
                condition.lock()
                if !stopped { _ = condition.wait(until: Date(timeIntervalSinceNow: interval)) }
                let done = stopped
                condition.unlock()
                if done { return }
                body()
            }
        }
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
