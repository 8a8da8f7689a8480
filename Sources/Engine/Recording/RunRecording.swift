import Foundation
import Pipeline
import Store

/// Records a planned run in the registry: one run per variant (through `RegistryRecorder`), and for
/// a sweep a sweep row grouping them. Receives the merged scheduler's stage results and fans them out
/// to the variants using each node (a plain run is the one-variant case: nodes are its stages).
/// Registry problems are warnings: the run still goes ahead.
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

    /// The sweep's id; nil for a plain run.
    public let sweepID: String?
    /// One run per variant, in variant order.
    public let runIDs: [String]
    private let recorders: [RegistryRecorder]
    private let plan: SweepPlan
    private let store: ArtifactStore

    /// What names this run's failed-stage logs and Slurm jobs: the sweep id, else the run id.
    public var label: String { sweepID ?? runIDs[0] }

    private init(sweepID: String?, recorders: [RegistryRecorder], plan: SweepPlan, store: ArtifactStore) {
        self.sweepID = sweepID
        self.recorders = recorders
        self.runIDs = recorders.map(\.runID)
        self.plan = plan
        self.store = store
    }

    /// Starts the run rows (and the sweep row when `sweep` is given); nil after a warning when the
    /// registry cannot be written.
    public static func start(store: ArtifactStore, plan: SweepPlan, pipelineFile: String,
                             sweep: SweepRanking?) -> RunRecording? {
        do {
            let registry = try store.openRegistry()
            var sweepID: String?
            if let sweep {
                sweepID = try registry.startSweep(NewSweep(pipelinePath: RegistryRecorder.registryPath(of: pipelineFile),
                                                           name: plan.pipeline.name, rankBy: sweep.rankBy,
                                                           maximize: sweep.maximize, commandLine: CommandLine.arguments))
            }
            var recorders: [RegistryRecorder] = []
            for (position, variant) in plan.variants.enumerated() {
                let recorder = try RegistryRecorder(registry: registry, store: store, pipeline: variant.pipeline,
                                                    pipelineFile: pipelineFile, commandLine: CommandLine.arguments)
                if let sweepID {
                    try registry.addSweepMember(sweepID: sweepID, SweepMember(runID: recorder.runID, variant: variant.name,
                                                                             position: position, overrides: plan.overrideTexts(ofVariant: position)))
                }
                recorders.append(recorder)
            }
            return RunRecording(sweepID: sweepID, recorders: recorders, plan: plan, store: store)
        } catch {
            FileHandle.standardError.write(Data("warning: the \(sweep == nil ? "run" : "sweep") will not be recorded: \(error)\n".utf8))
            return nil
        }
    }

    /// Registry writes happen on their own serial queue: the scheduler calls this on its
    /// coordinating thread, and a shared stage fans out to every variant's run (up to two SQLite
    /// transactions each), which must not delay starting the stages that just became ready.
    private let writes = DispatchQueue(label: "pipe.run.recording")

    public func stageFinished(_ stage: ResolvedStage, outcome: StageResult, startedAt: Date?, finishedAt: Date?,
                              metrics: [(step: Int, name: String, value: Double)]) {
        stageFinished(stage, outcome: outcome, record: nil, startedAt: startedAt, finishedAt: finishedAt, metrics: metrics)
    }

    public func stageFinished(_ stage: ResolvedStage, outcome: StageResult, record: StageRecord?, startedAt: Date?,
                              finishedAt: Date?, metrics: [(step: Int, name: String, value: Double)]) {
        writes.async { [self] in
            for (v, original) in plan.uses(ofNode: stage.name) {
                recorders[v].stageFinished(original, outcome: outcome, record: record, startedAt: startedAt,
                                           finishedAt: finishedAt, metrics: metrics)
                if case .failed = outcome, let sweepID { copyFailedLog(sweepID: sweepID, node: stage.name, runID: runIDs[v], stage: original.name) }
            }
        }
    }

    /// The scheduler keeps a sweep's failed stage's log under the sweep's label
    /// (`logs/failed/<sweep>/<node>.log`); each variant's run gets a copy under its own id, where
    /// `pipe log RUN STAGE` looks.
    private func copyFailedLog(sweepID: String, node: String, runID: String, stage: String) {
        let source = store.failedLogPath(run: sweepID, stage: node)
        guard FileManager.default.fileExists(atPath: source) else { return }
        store.keepFailedLog(source, run: runID, stage: stage)
    }

    /// Waits for the queued stage records, then closes every variant's run.
    public func finish(_ statuses: [RunStatus]) {
        writes.sync {}
        for (recorder, status) in zip(recorders, statuses) { recorder.finish(status) }
    }
}
