import Engine
import Foundation
import Pipeline

/// Builds lock files from finished runs and writes them next to the pipeline.
public enum LockFileWriter {
    /// The lock entry of one (variant) pipeline from a run report; nil unless every stage has a
    /// result. `node` maps the variant's stage names to the names the scheduler ran them under.
    /// `recorded` keeps the entries built so far by node name: a sweep's variants share most nodes.
    static func variant(name: String, overrides: [(target: String, value: String)], pipeline: ResolvedPipeline,
                        report: RunReport, node: (String) -> String = { $0 },
                        recorded cache: inout [String: RecordedStage]) -> LockFile.Variant? {
        var stages: [RecordedStage] = []
        for stage in pipeline.stages {
            if let known = cache[node(stage.name)] {
                stages.append(known)
                continue
            }
            guard let material = report.materials[node(stage.name)], let record = report.records[node(stage.name)],
                  report.outcomes[node(stage.name)]?.isAvailable == true else { return nil }
            // The record is the result of this material's key (the scheduler looked it up by that key).
            var recorded = RecordedStage(name: stage.name, material: material, outputs: record.outputs, key: record.key)
            // Sources as the pipeline names them (a sweep runs stages under node names).
            recorded.inputs = recorded.inputs.map { input in
                var copy = input
                copy.source = stage.input(input.name)?.reference ?? input.source
                return copy
            }
            cache[node(stage.name)] = recorded
            stages.append(recorded)
        }
        return LockFile.Variant(name: name, overrides: overrides, stages: stages)
    }

    /// Writes `lock` to `path` (a warning on failure); true when the file now holds it.
    @discardableResult
    static func write(_ lock: LockFile, to path: String) -> Bool {
        do { try lock.write(to: path) } catch {
            FileHandle.standardError.write(Data("warning: could not write the lock file: \(error)\n".utf8))
            return false
        }
        return true
    }
}
