import Foundation
import Pipeline
import Store

/// Records a planned run in the registry: one run per variant, and for a sweep a sweep row grouping
/// them. Receives the merged scheduler's stage results and fans them out to the variants using each
/// node (a plain run is the one-variant case: nodes are its stages). Registry problems are warnings:
/// the run still goes ahead.
///
/// Every write happens on one serial queue, beside the scheduler rather than before it: the
/// transaction that opens every run (and the sweep) is queued when the run starts, stage results
/// follow in batches (a result waits up to `flushDelay` for the ones after it, a cached one
/// `settledFlushDelay`), one transaction closes every run. A no-op rerun of a 512-variant sweep
/// thus costs a handful of transactions, written on a second core while the scheduler keys and
/// looks up stages. Run ids are proposed before the rows exist (the opening transaction takes
/// another only if the registry already has one); stage rows name their variant and get the run
/// id when written. While the run lasts its heartbeat moves every `heartbeatInterval`, so
/// another host can tell a live run from one whose `pipe` died (see `RunRegistry.reapAbandonedRuns`).
public final class RunRecording: RunRecorder, @unchecked Sendable {
    /// How a sweep is ranked (recorded with its sweep row).
    public struct SweepRanking: Sendable {
        public var rankBy: String?
        public var maximize: Bool

        public init(rankBy: String?, maximize: Bool) {
            self.rankBy = rankBy
            self.maximize = maximize
        }
    }

    /// How long a stage result waits to be written together with the ones that follow it.
    static let flushDelay = 0.1
    /// The same for results that ran nothing (cached, skipped): short, so a no-op rerun's rows are
    /// written while the scheduler is still settling the rest, yet batched (a few transactions).
    static let settledFlushDelay = 0.01
    /// How often a live run's heartbeat moves (well inside `RunRegistry.abandonedLease`).
    public static let heartbeatInterval = 30.0

    /// What names this run's failed-stage logs and Slurm jobs: the proposed sweep id, else the
    /// proposed id of the (first) run.
    public let label: String
    private let registry: RunRegistry
    private let plan: SweepPlan
    private let store: ArtifactStore
    /// "run" or "sweep", for messages.
    private let noun: String

    /// Registry writes happen on their own serial queue: the scheduler calls `stageFinished` on its
    /// coordinating thread, which must not wait for SQLite before starting the stages that just
    /// became ready.
    private let writes = DispatchQueue(label: "pipe.run.recording")
    private let lock = NSLock()
    private var pending = PendingRows()
    /// When the earliest scheduled write of `pending` happens (nil: none is scheduled).
    private var flushDeadline: DispatchTime?
    private var warned = false
    private var heartbeat: Ticker?
    /// Set on the writes queue by the opening transaction: the sweep id and the run ids as
    /// recorded; nil when the runs could not be recorded.
    private var started: (sweepID: String?, runIDs: [String])?
    /// The opening transaction, kept when it failed: `finish` tries it once more (a stage that filled
    /// the disk has been cleaned up by then), and the stage rows wait for it.
    private var retryOpening: (() throws -> (sweepID: String?, runIDs: [String]))?

    /// Stage rows waiting for a write, by variant (run ids are known on the writes queue).
    private struct PendingRows {
        var executions: [(variant: Int, execution: Store.StageExecution)] = []
        var metrics: [(variant: Int, stage: String, points: [MetricPoint])] = []
    }

    private init(label: String, registry: RunRegistry, plan: SweepPlan, store: ArtifactStore, noun: String) {
        self.label = label
        self.noun = noun
        self.registry = registry
        self.plan = plan
        self.store = store
    }

    /// The sweep's id; nil for a plain run or when it could not be recorded. Waits for the
    /// opening transaction.
    public var sweepID: String? { writes.sync { started?.sweepID } }

    /// One run id per variant, in variant order; nil when the runs could not be recorded. Waits
    /// for the opening transaction.
    public var runIDs: [String]? { writes.sync { started?.runIDs } }

    /// Opens the registry and queues the transaction that starts the run rows (and the sweep row
    /// when `sweep` is given); nil after a warning when the registry cannot be opened. A failure
    /// of the transaction itself is a warning too (then nothing of this run is recorded).
    public static func start(store: ArtifactStore, plan: SweepPlan, pipelineFile: String,
                             sweep: SweepRanking?) -> RunRecording? {
        let registry: RunRegistry
        do { registry = try store.openRegistry() } catch {
            FileHandle.standardError.write(Data("warning: the \(sweep == nil ? "run" : "sweep") will not be recorded: \(error)\n".utf8))
            return nil
        }
        let startedAt = Date()
        let proposedIDs = RunRegistry.proposeRunIDs(count: plan.variants.count, startedAt: startedAt)
        let proposedSweepID = sweep.map { _ in RunRegistry.proposeSweepID(startedAt: startedAt) }
        let recording = RunRecording(label: proposedSweepID ?? proposedIDs[0], registry: registry,
                                     plan: plan, store: store, noun: sweep == nil ? "run" : "sweep")
        let commandLine = CommandLine.arguments
        // The bytes that were parsed (the pipeline file's and its includes'), not the files when the writer gets to them.
        let digest = RegistryRecorder.digest(of: plan.pipeline)
        recording.writes.async {
            let open = {
                var stageParams: [String: JSONValue] = [:]
                let pipelinePath = RegistryRecorder.registryPath(of: pipelineFile)
                let runs = plan.variants.indices.map { v in
                    RegistryRecorder.newRun(pipeline: plan.variants[v].pipeline, pipelinePath: pipelinePath, pipelineDigest: digest,
                                            commandLine: commandLine, startedAt: startedAt, stageParams: &stageParams,
                                            identity: { plan.nodeOf[v][$0] ?? $0 })
                }
                let sweepRow = sweep.map {
                    NewSweep(pipelinePath: pipelinePath, name: plan.pipeline.name,
                             rankBy: $0.rankBy, maximize: $0.maximize, commandLine: commandLine, startedAt: startedAt)
                }
                let members = sweep == nil ? [] : plan.variants.indices.map { (variant: plan.variants[$0].name, overrides: plan.overrideTexts(ofVariant: $0)) }
                return try RunProfile.shared.measure("registry: start runs (writer thread)") {
                    try registry.startRuns(runs, sweep: sweepRow, members: members, proposedIDs: proposedIDs,
                                           proposedSweepID: proposedSweepID)
                }
            }
            do {
                recording.started = try open()
            } catch {
                recording.retryOpening = open
                FileHandle.standardError.write(Data("warning: the \(recording.noun) is not recorded yet (\(error)); trying again when it ends\n".utf8))
            }
        }
        recording.startHeartbeat()
        return recording
    }

    public func stageFinished(_ stage: ResolvedStage, outcome: StageResult, startedAt: Date?, finishedAt: Date?,
                              metrics: [(step: Int, name: String, value: Double)]) {
        stageFinished(stage, outcome: outcome, record: nil, startedAt: startedAt, finishedAt: finishedAt, metrics: metrics)
    }

    public func stageFinished(_ stage: ResolvedStage, outcome: StageResult, record: StageRecord?, startedAt: Date?,
                              finishedAt: Date?, metrics: [(step: Int, name: String, value: Double)]) {
        guard let node = plan.node(named: stage.name) else { return }
        let stored = !outcome.isAvailable ? nil : (record ?? outcome.key.flatMap { store.record(forKey: $0) })
        let outputs = stored?.outputs ?? [:]
        var metrics = metrics
        // A cached stage whose record predates its `metrics:` declaration: read the declared files.
        if metrics.isEmpty, !stage.metricsFiles.isEmpty, let stored {
            metrics = DeclaredMetrics.missingFromRecord(stage, record: stored, store: store)
        }
        let points = metrics.map { MetricPoint(step: $0.step, name: $0.name, value: $0.value) }
        // One row per variant using the node, alike but for the run id (filled in when written):
        // built once (the key's hex and the outcome's mapping).
        let execution = RegistryRecorder.execution(runID: "", stage: node.stage, outcome: outcome, outputs: outputs,
                                                   startedAt: startedAt, finishedAt: finishedAt)
        lock.lock()
        for v in node.variants {
            pending.executions.append((v, execution))
            if !points.isEmpty { pending.metrics.append((v, node.stage, points)) }
        }
        let delay = outcome.isLookUpOnly ? Self.settledFlushDelay : Self.flushDelay
        let deadline = DispatchTime.now() + delay
        let schedule = flushDeadline.map { deadline < $0 } ?? true
        if schedule { flushDeadline = deadline }
        lock.unlock()
        if case .failed = outcome {
            writes.async { [self] in
                guard let runIDs = started?.runIDs else { return }
                // The scheduler kept the log under this run's label; each run whose id differs
                // (every variant of a sweep) gets a copy under its own id, where `pipe log` looks.
                for v in node.variants where runIDs[v] != label {
                    copyFailedLog(label: label, node: stage.name, runID: runIDs[v], stage: node.stage)
                }
            }
        }
        if schedule { writes.asyncAfter(deadline: deadline) { [self] in write(takePending()) } }
    }

    /// The scheduler keeps a failed stage's log under the run's label
    /// (`logs/failed/<label>/<node>.log`); `runID`'s copy goes where `pipe log RUN STAGE` looks.
    private func copyFailedLog(label: String, node: String, runID: String, stage: String) {
        let source = store.failedLogPath(run: label, stage: node)
        guard FileManager.default.fileExists(atPath: source) else { return }
        store.keepFailedLog(source, run: runID, stage: stage)
    }

    /// Writes what is pending and closes every variant's run, in one transaction.
    public func finish(_ statuses: [RunStatus]) {
        heartbeat?.stop()
        writes.sync {
            if started == nil, let open = retryOpening {
                retryOpening = nil
                do {
                    started = try open()
                    FileHandle.standardError.write(Data("the \(noun) is recorded after all\n".utf8))
                } catch {
                    lock.lock(); warned = true; lock.unlock()
                    FileHandle.standardError.write(Data("warning: the \(noun) will not be recorded: \(error)\n".utf8))
                }
            }
            var batch = takePending()
            let now = Date()
            batch.finished = zip(started?.runIDs ?? [], statuses).map { ($0, $1, now) }
            write(batch)
        }
    }

    /// The pending rows as a registry batch (on the writes queue, after the opening transaction). Until
    /// that succeeds the batch is empty and the rows stay pending, for the retry in `finish`.
    private func takePending() -> RunRegistry.Batch {
        var batch = RunRegistry.Batch()
        guard let runIDs = started?.runIDs else { return batch }
        lock.lock()
        let rows = pending
        pending = PendingRows()
        flushDeadline = nil
        lock.unlock()
        batch.executions.reserveCapacity(rows.executions.count)
        for (v, execution) in rows.executions {
            var row = execution
            row.runID = runIDs[v]
            batch.executions.append(row)
        }
        batch.metrics = rows.metrics.map { (runIDs[$0.variant], $0.stage, $0.points) }
        return batch
    }

    private func startHeartbeat() {
        let ticker = Ticker(interval: Self.heartbeatInterval) { [weak self] in
            guard let self else { return }
            writes.async { [self] in
                guard let runIDs = started?.runIDs else { return }
                var batch = RunRegistry.Batch()
                batch.heartbeats = runIDs
                write(batch)
            }
        }
        heartbeat = ticker
        ticker.start()
    }

    /// On the writes queue. Failures are reported once (a failed opening transaction already was).
    private func write(_ batch: RunRegistry.Batch) {
        do { try RunProfile.shared.measure("registry: write a batch (writer thread)") { try registry.record(batch) } } catch {
            lock.lock()
            let first = !warned
            warned = true
            lock.unlock()
            if first { FileHandle.standardError.write(Data("warning: could not record the run in \(registry.path): \(error)\n".utf8)) }
        }
    }
}

extension StageResult {
    /// Settled by looking in the store or at upstream results, without running or fetching anything.
    fileprivate var isLookUpOnly: Bool {
        switch self {
        case .cached, .skipped: return true
        default: return false
        }
    }
}
