import Foundation
import Hashing
import Pipeline
import Store

/// What `pipe status` and `pipe run --dry-run` report for one stage.
public struct StageStatus: Sendable {
    public enum State: Sendable, Equatable {
        /// Key in the store.
        case cached(Digest)
        /// Key not in the store but in the remote cache (`--remote`): a run would download it.
        case cachedRemote(Digest)
        /// Key known and not in the store.
        case mustRun(Digest)
        /// Cannot be keyed before these upstream stages have run.
        case afterUpstream([String])
        /// Keying failed (e.g. a dep is missing).
        case error(String)
    }

    public var stage: String
    public var state: State
    /// Why it must run, in words ("never run", "param lr changed 1e-05 → 3e-05", …). Empty when cached.
    public var reasons: [String]
}

/// Decides, without running anything, which stages are cached and why the others must run.
///
/// Reasons compare the stage's key material with the material of the last result the registry
/// records for the same stage of the same pipeline file. For a stage below a must-run stage the
/// upstream output digests are unknown, so the comparison assumes its inputs unchanged and reports
/// only what else changed (params, command, deps, …), after "runs after sft".
public struct StatusPlanner {
    let pipeline: ResolvedPipeline
    let pipelineFile: String
    let store: ArtifactStore
    let runtime: StageRuntime
    /// Looked up for keys missing locally (one small record download each), so stages below a
    /// remote hit can be keyed too.
    let remote: (any Remote)?
    /// Stage name in `pipeline` → its name in the pipeline file, where they differ (a sweep's merged
    /// pipeline names nodes `ppo[3e-05]`; the registry knows them as `ppo`).
    let fileStageNames: [String: String]

    public init(pipeline: ResolvedPipeline, pipelineFile: String, store: ArtifactStore, runtime: StageRuntime,
                fileStageNames: [String: String] = [:], remote: (any Remote)? = nil) {
        self.remote = remote
        self.pipeline = pipeline
        self.pipelineFile = pipelineFile
        self.store = store
        self.runtime = runtime
        self.fileStageNames = fileStageNames
    }

    public func plan(force: Set<String> = []) -> [StageStatus] {
        let keyer = StageKeyer(pipeline: pipeline, store: store, runtime: runtime)
        var records: [String: StageRecord] = [:]
        var statuses: [StageStatus] = []
        var stateOf: [String: StageStatus.State] = [:]
        var history: [String: KeyMaterial]?  // read only if some stage is not cached

        func previousMaterial(_ stage: String) -> KeyMaterial? {
            if history == nil { history = Self.lastMaterials(store: store, pipelineFile: pipelineFile) }
            return history?[fileStageNames[stage] ?? stage]
        }

        for stage in pipeline.stages {
            let blocked = stage.upstreamStages.filter { records[$0] == nil }
            if blocked.isEmpty {
                do {
                    let keyed = try keyer.key(stage, upstream: records)
                    if !force.contains(stage.name), let record = store.record(forKey: keyed.key) {
                        records[stage.name] = record
                        stateOf[stage.name] = .cached(keyed.key)
                        statuses.append(StageStatus(stage: stage.name, state: .cached(keyed.key), reasons: []))
                        continue
                    }
                    var reasons: [String] = force.contains(stage.name) ? ["forced (--force \(stage.name))"] : []
                    if !force.contains(stage.name), let remote {
                        do {
                            if let record = try remote.getRecord(keyed.key) {
                                records[stage.name] = record
                                stateOf[stage.name] = .cachedRemote(keyed.key)
                                statuses.append(StageStatus(stage: stage.name, state: .cachedRemote(keyed.key), reasons: []))
                                continue
                            }
                        } catch {
                            reasons.append("remote lookup failed: \(error)")
                        }
                    }
                    if !force.contains(stage.name) {
                        if let previous = previousMaterial(stage.name) {
                            let changes = keyed.material.changes(from: previous, commandTemplate: stage.commandTemplate)
                            reasons += changes.isEmpty ? ["its last result is no longer in the store"] : changes
                        } else {
                            reasons.append("never run")
                        }
                    }
                    stateOf[stage.name] = .mustRun(keyed.key)
                    statuses.append(StageStatus(stage: stage.name, state: .mustRun(keyed.key), reasons: reasons))
                } catch {
                    stateOf[stage.name] = .error("\(error)")
                    statuses.append(StageStatus(stage: stage.name, state: .error("\(error)"), reasons: ["\(error)"]))
                }
                continue
            }
            // Below a stage that must run: name the nearest such stages, then what else changed.
            var reasons = ["runs after " + blocked.joined(separator: ", ")]
            if let previous = previousMaterial(stage.name) {
                if let material = try? assumingInputsUnchanged(stage, previous: previous, upstream: records, keyer: keyer) {
                    reasons += material.changes(from: previous, commandTemplate: stage.commandTemplate)
                }
            } else {
                reasons.append("never run")
            }
            stateOf[stage.name] = .afterUpstream(blocked)
            statuses.append(StageStatus(stage: stage.name, state: .afterUpstream(blocked), reasons: reasons))
        }
        store.saveRecordIndex()
        return statuses
    }

    /// Key material with unknown input digests taken from the previous material.
    private func assumingInputsUnchanged(_ stage: ResolvedStage, previous: KeyMaterial,
                                         upstream: [String: StageRecord], keyer: StageKeyer) throws -> KeyMaterial {
        var standIns = upstream
        for binding in stage.inputs where standIns[binding.stage] == nil {
            guard let old = previous.inputs.first(where: { $0.name == binding.name }) else { continue }
            var record = standIns[binding.stage] ?? StageRecord(key: old.digest, stage: binding.stage, keyMaterial: .null,
                                                                outputs: [:], startedAt: Date(), finishedAt: Date())
            record.outputs[binding.output] = old.digest
            standIns[binding.stage] = record
        }
        return try keyer.key(stage, upstream: standIns).material
    }

    /// The key material of each stage's last result in runs of one pipeline file (from the
    /// registry), for the stages whose record is still in the store.
    static func lastMaterials(store: ArtifactStore, pipelineFile: String) -> [String: KeyMaterial] {
        guard FileManager.default.fileExists(atPath: store.registryPath),
              let registry = try? store.openRegistry(),
              let latest = try? registry.latestExecutions(pipeline: RegistryRecorder.registryPath(of: pipelineFile)) else { return [:] }
        var result: [String: KeyMaterial] = [:]
        for (stage, execution) in latest {
            // The record even when its objects are gone: then the reason is "no longer in the store".
            result[stage] = Digest(hex: execution.key).flatMap { store.recordIgnoringObjects(forKey: $0) }?.material
        }
        return result
    }
}
