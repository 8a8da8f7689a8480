import Foundation
import Hashing
import Pipeline
import Store

/// Writes a run into the registry (runs.sqlite) as it happens: the run row at the start, one stage
/// execution per settled stage (with its metric series), the final status at the end. Registry
/// failures never fail the run: they are reported once as a warning.
public final class RegistryRecorder: RunRecorder, @unchecked Sendable {
    public let registry: RunRegistry
    public let runID: String
    private let store: ArtifactStore
    private var warned = false
    private let lock = NSLock()

    /// Starts the run row. Params: `{stage: {param: value}}` of every stage, resolved.
    public init(registry: RunRegistry, store: ArtifactStore, pipeline: ResolvedPipeline, pipelineFile: String,
                commandLine: [String]) throws {
        self.registry = registry
        self.store = store
        let digest = (try? SHA256.hash(Array(Data(contentsOf: URL(fileURLWithPath: pipelineFile))))).map(\.hex) ?? ""
        var params: [String: JSONValue] = [:]
        for stage in pipeline.stages {
            var values: [String: JSONValue] = [:]
            for param in stage.params { values[param.name] = param.value.jsonValue }
            params[stage.name] = .object(values)
        }
        runID = try registry.startRun(NewRun(pipelinePath: Self.registryPath(of: pipelineFile), pipelineDigest: digest,
                                             name: pipeline.name, params: .object(params), commandLine: commandLine))
    }

    /// Pipelines are identified in the registry by absolute path (so `status` finds earlier runs from
    /// any working directory).
    public static func registryPath(of pipelineFile: String) -> String {
        URL(fileURLWithPath: pipelineFile).standardizedFileURL.path
    }

    public func stageFinished(_ stage: ResolvedStage, outcome: StageResult, startedAt: Date?, finishedAt: Date?,
                              metrics: [(step: Int, name: String, value: Double)]) {
        stageFinished(stage, outcome: outcome, record: nil, startedAt: startedAt, finishedAt: finishedAt, metrics: metrics)
    }

    public func stageFinished(_ stage: ResolvedStage, outcome: StageResult, record: StageRecord?, startedAt: Date?,
                              finishedAt: Date?, metrics: [(step: Int, name: String, value: Double)]) {
        let (registryOutcome, message, exitStatus): (Store.StageOutcome, String?, Int32?) = {
            switch outcome {
            case .cached: return (.cached, nil, nil)
            case .ran: return (.ran, nil, 0)
            case .pulled: return (.cached, "pulled from the remote cache", nil)
            case .reused: return (.cached, "built by another pipe process while this run waited for the key's lock", nil)
            case .failed(_, let reason): return (.failed, reason, nil)
            case .skipped(let because): return (.skipped, because, nil)
            case .interrupted: return (startedAt == nil ? .skipped : .failed, "interrupted", nil)
            }
        }()
        let stored = !outcome.isAvailable ? nil : (record ?? outcome.key.flatMap { store.record(forKey: $0) })
        let outputs = stored?.outputs ?? [:]
        var metrics = metrics
        if metrics.isEmpty, !stage.metricsFiles.isEmpty, let stored {
            metrics = DeclaredMetrics.missingFromRecord(stage, record: stored, store: store)
        }
        let execution = Store.StageExecution(runID: runID, stage: stage.name, key: outcome.key?.hex ?? "",
                                             outcome: registryOutcome, startedAt: startedAt, finishedAt: finishedAt,
                                             exitStatus: exitStatus, outputs: outputs, message: message)
        attempt {
            try registry.recordStageExecution(execution)
            if !metrics.isEmpty {
                try registry.recordMetrics(runID: runID, stage: stage.name,
                                           points: metrics.map { MetricPoint(step: $0.step, name: $0.name, value: $0.value) })
            }
        }
    }

    public func finish(_ status: RunStatus) {
        attempt { try registry.finishRun(id: runID, status: status) }
    }

    private func attempt(_ body: () throws -> Void) {
        do { try body() } catch {
            lock.lock(); defer { lock.unlock() }
            if !warned {
                warned = true
                FileHandle.standardError.write(Data("warning: could not record the run in \(registry.path): \(error)\n".utf8))
            }
        }
    }
}

extension ParamValue {
    var jsonValue: JSONValue {
        switch self {
        case .int(let v): return .int(v)
        case .float(let v): return .double(v)
        case .string(let v): return .string(v)
        case .bool(let v): return .bool(v)
        case .list(let items): return .array(items.map(\.jsonValue))
        }
    }
}
