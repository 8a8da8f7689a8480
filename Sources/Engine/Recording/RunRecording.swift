import Foundation
import Pipeline
import Store

/// Records a planned run in the registry: one run per variant, and for a sweep a sweep row grouping
/// them. Receives the merged scheduler's stage results and fans them out to the variants using each
/// node (a plain run is the one-variant case: nodes are its stages). Registry problems are warnings:
/// the run still goes ahead.
///
/// Transactions: one opens every run (and the sweep), stage results are written in batches (a
/// result waits up to `flushDelay` for the ones after it, a cached one `settledFlushDelay`), one
/// closes every run. A no-op rerun of a 512-variant sweep thus costs two transactions, not one per
/// variant and stage. While the run
/// lasts its heartbeat moves every `heartbeatInterval`, so another host can tell a live run from
/// one whose `pipe` died (see `RunRegistry.reapAbandonedRuns`).
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
    /// The same for results that ran nothing (cached, skipped): a no-op rerun ends well within it,
    /// so its stage rows go into the transaction that closes the runs instead of batches of their own.
    static let settledFlushDelay = 1.0
    /// How often a live run's heartbeat moves (well inside `RunRegistry.abandonedLease`).
    public static let heartbeatInterval = 30.0

    /// The sweep's id; nil for a plain run.
    public let sweepID: String?
    /// One run per variant, in variant order.
    public let runIDs: [String]
    private let registry: RunRegistry
    private let plan: SweepPlan
    private let store: ArtifactStore

    /// What names this run's failed-stage logs and Slurm jobs: the sweep id, else the run id.
    public var label: String { sweepID ?? runIDs[0] }

    /// Registry writes happen on their own serial queue: the scheduler calls `stageFinished` on its
    /// coordinating thread, which must not wait for SQLite before starting the stages that just
    /// became ready.
    private let writes = DispatchQueue(label: "pipe.run.recording")
    private let lock = NSLock()
    private var pending = RunRegistry.Batch()
    /// When the earliest scheduled write of `pending` happens (nil: none is scheduled).
    private var flushDeadline: DispatchTime?
    private var warned = false
    private var heartbeat: Ticker?

    private init(sweepID: String?, runIDs: [String], registry: RunRegistry, plan: SweepPlan, store: ArtifactStore) {
        self.sweepID = sweepID
        self.runIDs = runIDs
        self.registry = registry
        self.plan = plan
        self.store = store
    }

    /// Starts the run rows (and the sweep row when `sweep` is given) in one transaction; nil after a
    /// warning when the registry cannot be written.
    public static func start(store: ArtifactStore, plan: SweepPlan, pipelineFile: String,
                             sweep: SweepRanking?) -> RunRecording? {
        do {
            let registry = try store.openRegistry()
            let digest = RegistryRecorder.digest(ofPipelineFile: pipelineFile)
            var stageParams: [String: JSONValue] = [:]
            let pipelinePath = RegistryRecorder.registryPath(of: pipelineFile)
            let runs = plan.variants.indices.map { v in
                RegistryRecorder.newRun(pipeline: plan.variants[v].pipeline, pipelinePath: pipelinePath, pipelineDigest: digest,
                                        commandLine: CommandLine.arguments, stageParams: &stageParams,
                                        identity: { plan.nodeOf[v][$0] ?? $0 })
            }
            let sweepRow = sweep.map {
                NewSweep(pipelinePath: pipelinePath, name: plan.pipeline.name,
                         rankBy: $0.rankBy, maximize: $0.maximize, commandLine: CommandLine.arguments)
            }
            let members = sweep == nil ? [] : plan.variants.indices.map { (variant: plan.variants[$0].name, overrides: plan.overrideTexts(ofVariant: $0)) }
            let (sweepID, runIDs) = try registry.startRuns(runs, sweep: sweepRow, members: members)
            let recording = RunRecording(sweepID: sweepID, runIDs: runIDs, registry: registry, plan: plan, store: store)
            recording.startHeartbeat()
            return recording
        } catch {
            FileHandle.standardError.write(Data("warning: the \(sweep == nil ? "run" : "sweep") will not be recorded: \(error)\n".utf8))
            return nil
        }
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
        // One row per variant using the node, alike but for the run id: built once (the key's hex
        // and the outcome's mapping), copied per variant.
        var execution = RegistryRecorder.execution(runID: "", stage: node.stage, outcome: outcome, outputs: outputs,
                                                   startedAt: startedAt, finishedAt: finishedAt)
        lock.lock()
        for v in node.variants {
            execution.runID = runIDs[v]
            pending.executions.append(execution)
            if !points.isEmpty { pending.metrics.append((runIDs[v], node.stage, points)) }
        }
        let delay = outcome.isLookUpOnly ? Self.settledFlushDelay : Self.flushDelay
        let deadline = DispatchTime.now() + delay
        let schedule = flushDeadline.map { deadline < $0 } ?? true
        if schedule { flushDeadline = deadline }
        lock.unlock()
        if case .failed = outcome, let sweepID {
            writes.async { [self] in
                for v in node.variants { copyFailedLog(sweepID: sweepID, node: stage.name, runID: runIDs[v], stage: node.stage) }
            }
        }
        if schedule { writes.asyncAfter(deadline: deadline) { [self] in write(takePending()) } }
    }

    /// The scheduler keeps a sweep's failed stage's log under the sweep's label
    /// (`logs/failed/<sweep>/<node>.log`); each variant's run gets a copy under its own id, where
    /// `pipe log RUN STAGE` looks.
    private func copyFailedLog(sweepID: String, node: String, runID: String, stage: String) {
        let source = store.failedLogPath(run: sweepID, stage: node)
        guard FileManager.default.fileExists(atPath: source) else { return }
        store.keepFailedLog(source, run: runID, stage: stage)
    }

    /// Writes what is pending and closes every variant's run, in one transaction.
    public func finish(_ statuses: [RunStatus]) {
        heartbeat?.stop()
        writes.sync {
            var batch = takePending()
            let now = Date()
            batch.finished = zip(runIDs, statuses).map { ($0, $1, now) }
            write(batch)
        }
    }

    private func takePending() -> RunRegistry.Batch {
        lock.lock(); defer { lock.unlock() }
        let batch = pending
        pending = RunRegistry.Batch()
        flushDeadline = nil
        return batch
    }

    private func startHeartbeat() {
        let ticker = Ticker(interval: Self.heartbeatInterval) { [weak self] in
            guard let self else { return }
            writes.async { [self] in
                var batch = RunRegistry.Batch()
                batch.heartbeats = runIDs
                write(batch)
            }
        }
        heartbeat = ticker
        ticker.start()
    }

    /// On the writes queue. Failures are reported once.
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
