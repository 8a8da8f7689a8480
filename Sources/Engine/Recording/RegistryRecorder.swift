import Foundation
import Hashing
import Pipeline
import Store

/// How one variant's run is written into the registry (runs.sqlite): its run row, and a stage
/// execution per settled stage. `RunRecording` batches the rows of every variant into a few
/// transactions per `pipe run`.
public enum RegistryRecorder {
    /// Pipelines are identified in the registry by absolute path (so `status` finds earlier runs from
    /// any working directory).
    public static func registryPath(of pipelineFile: String) -> String {
        URL(fileURLWithPath: pipelineFile).standardizedFileURL.path
    }

    /// The run row of one variant. Params: `{stage: {param: value}}` of every stage, resolved.
    /// `stageParams` keeps each stage's object by a name that identifies its resolved params (a
    /// sweep's node name): variants share most stages, so each is converted once.
    /// `pipelinePath` is `registryPath(of:)` of the pipeline file, computed once by the caller.
    static func newRun(pipeline: ResolvedPipeline, pipelinePath: String, pipelineDigest: String, commandLine: [String],
                       startedAt: Date = Date(), stageParams: inout [String: JSONValue], identity: (String) -> String = { $0 }) -> NewRun {
        var params: [String: JSONValue] = [:]
        params.reserveCapacity(pipeline.stages.count)
        for stage in pipeline.stages {
            let id = identity(stage.name)
            if let known = stageParams[id] { params[stage.name] = known; continue }
            var values: [String: JSONValue] = [:]
            for param in stage.params { values[param.name] = param.value.jsonValue }
            params[stage.name] = .object(values)
            stageParams[id] = .object(values)
        }
        return NewRun(pipelinePath: pipelinePath, pipelineDigest: pipelineDigest, name: pipeline.name,
                      params: .object(params), commandLine: commandLine, startedAt: startedAt)
    }

    /// SHA-256 (hex) of what the pipeline was read from: the pipeline file's bytes, or with
    /// `include:` one digest over every file (`PipelineSource.digest`), so an edit to an included
    /// file shows; "" when not known.
    static func digest(of pipeline: ResolvedPipeline) -> String {
        PipelineSource.digest(of: pipeline.sources, workspace: pipeline.workspace)?.hex ?? ""
    }

    /// The stage execution row for `stage` of run `runID`. `outputs` are the record's outputs when
    /// the stage's result is available.
    static func execution(runID: String, stage: String, outcome: StageResult, outputs: [String: Digest],
                          startedAt: Date?, finishedAt: Date?) -> Store.StageExecution {
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
        return Store.StageExecution(runID: runID, stage: stage, key: outcome.key?.hex ?? "", outcome: registryOutcome,
                                    startedAt: startedAt, finishedAt: finishedAt, exitStatus: exitStatus,
                                    outputs: outcome.isAvailable ? outputs : [:], message: message)
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
