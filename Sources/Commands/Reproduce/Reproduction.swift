import Engine
import Foundation
import Hashing
import Pipeline
import Store

/// What a reproduction checks against: a recorded run (registry + stage records) or a lock file.
struct ReproductionTarget {
    var label: String
    var pipelineFile: String
    /// `stage.param=value` for every recorded param, so the pipeline resolves as it did then.
    var overrides: [String]
    /// Stage name → what was recorded (key, outputs, and the key material when still known).
    var stages: [String: RecordedStage]
    /// Stages whose key material is no longer known (only key and outputs were recorded).
    var withoutMaterial: Set<String>

    static func fromRun(_ details: RunDetails, store: ArtifactStore) -> ReproductionTarget {
        var stages: [String: RecordedStage] = [:]
        var withoutMaterial = Set<String>()
        for execution in details.stages where !execution.outputs.isEmpty {
            if let material = store.material(ofKey: execution.key) {
                stages[execution.stage] = RecordedStage(name: execution.stage, material: material, outputs: execution.outputs)
            } else {
                stages[execution.stage] = RecordedStage(
                    name: execution.stage, kind: "", version: 0, key: execution.key, params: [], command: nil, deps: [], inputs: [],
                    environment: [], seed: 0,
                    outputs: execution.outputs.keys.sorted { $0.utf8Precedes($1) }.map { ($0, execution.outputs[$0]!.hex) })
                withoutMaterial.insert(execution.stage)
            }
        }
        let overrides = RunComparison.params(details.run.params).map { "\($0.stage).\($0.name)=" + Self.yaml(details.run.params, $0.stage, $0.name) }
        return ReproductionTarget(label: "run \(details.run.id)", pipelineFile: details.run.pipelinePath, overrides: overrides,
                                  stages: stages, withoutMaterial: withoutMaterial)
    }

    private static func yaml(_ params: JSONValue, _ stage: String, _ name: String) -> String {
        params[stage]?[name]?.yamlText ?? "null"
    }

    static func fromLock(_ lock: LockFile, path: String, variant name: String?) throws -> ReproductionTarget {
        let variant: LockFile.Variant
        if let name {
            guard let chosen = lock.variants.first(where: { $0.name == name }) else {
                throw RunnerError.usage("\(path) has no variant '\(name)'; variants: " + lock.variants.map(\.name).joined(separator: "; "))
            }
            variant = chosen
        } else {
            guard lock.variants.count == 1 else {
                throw RunnerError.usage("\(path) records a sweep of \(lock.variants.count) variants: pick one with --variant NAME ("
                                        + lock.variants.map(\.name).joined(separator: "; ") + ")")
            }
            variant = lock.variants[0]
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var stages: [String: RecordedStage] = [:]
        var overrides: [String] = []
        for stage in variant.stages {
            stages[stage.name] = stage
            overrides += stage.params.map { "\(stage.name).\($0.name)=\($0.value)" }
        }
        return ReproductionTarget(label: "lock \(path)" + (lock.isSweep ? " (variant \(variant.name))" : ""),
                                  pipelineFile: directory + "/" + lock.file, overrides: overrides, stages: stages,
                                  withoutMaterial: [])
    }
}

/// One stage's verdict.
struct StageVerdict {
    enum Kind: Equatable {
        /// Same key, same output digests.
        case identical
        /// Same key, different bytes: the stage is not deterministic.
        case nondeterministic
        /// The key changed because the stage's definition changed (params, command, deps, version, seed).
        case definitionChanged
        /// The key changed because the numeric environment differs (BLAS, arch; threads in old records).
        case environmentChanged
        /// The key changed only because an input differs: a consequence of an earlier divergence.
        case inputsDiffer
        /// The key changed and the recorded key material is gone, so the cause is unknown.
        case keyChanged
        /// It did not run to completion in the reproduction.
        case failed
        /// Not part of the recorded run (no outputs recorded).
        case notRecorded
    }

    var stage: String
    var kind: Kind
    var details: [String]

    var isDivergence: Bool { kind != .identical && kind != .notRecorded }
}

/// Compares a reproduction's results with what was recorded.
enum ReproductionComparison {
    static func verdicts(pipeline: ResolvedPipeline, target: ReproductionTarget, report: RunReport,
                         original: ArtifactStore, scratch: ArtifactStore) -> [StageVerdict] {
        pipeline.stages.map { stage in
            guard let expected = target.stages[stage.name] else {
                return StageVerdict(stage: stage.name, kind: .notRecorded, details: ["no outputs were recorded for it"])
            }
            guard let outcome = report.outcomes[stage.name], outcome.isAvailable,
                  let material = report.materials[stage.name], let record = report.records[stage.name] else {
                var reason = "did not complete"
                if case .failed(_, let why)? = report.outcomes[stage.name] { reason = "failed: \(why)" }
                if case .skipped(let why)? = report.outcomes[stage.name] { reason = "skipped: \(why)" }
                return StageVerdict(stage: stage.name, kind: .failed, details: [reason])
            }
            var outputDifferences: [String] = []
            for (name, digest) in expected.outputs {
                let now = record.outputs[name]?.hex
                guard now != digest else { continue }
                var line = "output \(name): \(digest.prefix(12)) → \(now.map { String($0.prefix(12)) } ?? "missing")"
                if let old = Digest(hex: digest), let new = record.outputs[name] {
                    let files = differingFiles(original: original, old, scratch: scratch, new)
                    if !files.isEmpty { line += " (differs in " + files.joined(separator: ", ") + ")" }
                }
                outputDifferences.append(line)
            }
            if material.key.hex == expected.key {
                return outputDifferences.isEmpty
                    ? StageVerdict(stage: stage.name, kind: .identical, details: [])
                    : StageVerdict(stage: stage.name, kind: .nondeterministic,
                                   details: ["same key \(expected.key.prefix(12)), different bytes"] + outputDifferences)
            }
            if target.withoutMaterial.contains(stage.name) {
                return StageVerdict(stage: stage.name, kind: .keyChanged,
                                    details: ["key \(expected.key.prefix(12)) → \(material.key.short); the run's key material is no longer in the store"]
                                        + outputDifferences)
            }
            let (definition, environment, inputs) = expected.differences(from: material)
            if !definition.isEmpty {
                return StageVerdict(stage: stage.name, kind: .definitionChanged, details: definition + environment + inputs + outputDifferences)
            }
            if !environment.isEmpty {
                return StageVerdict(stage: stage.name, kind: .environmentChanged, details: environment + inputs + outputDifferences)
            }
            return StageVerdict(stage: stage.name, kind: .inputsDiffer, details: inputs + outputDifferences)
        }
    }

    /// Relative paths whose content differs between two artifacts (at most five), when both can be read.
    static func differingFiles(original: ArtifactStore, _ old: Digest, scratch: ArtifactStore, _ new: Digest) -> [String] {
        guard original.hasObject(old), let a = try? original.manifest(ofPath: original.objectPath(old)),
              let b = try? scratch.manifest(ofPath: scratch.objectPath(new)) else { return [] }
        switch (a.root, b.root) {
        case (.tree(let x), .tree(let y)):
            let left = Dictionary(x.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
            let right = Dictionary(y.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
            let paths = Set(left.keys).union(right.keys).sorted { $0.utf8Precedes($1) }.filter { left[$0] != right[$0] }
            return Array(paths.prefix(5)) + (paths.count > 5 ? ["… \(paths.count - 5) more"] : [])
        default:
            return a == b ? [] : ["the file"]
        }
    }
}
