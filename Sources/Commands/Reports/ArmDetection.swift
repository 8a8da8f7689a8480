import Engine
import Foundation
import Hashing
import Pipeline
import Store

/// Finds the arms of recorded runs and reads what their evaluations measured: the `evaluate` stages
/// (by the kind in their stage records), the stage each one's `policy` input came from, the upstream
/// stages only that arm uses (its cost), and the evaluation's metrics.json and samples.jsonl.
extension ArmComparison {
    /// One recorded run of a sweep (or a run on its own).
    struct Variant {
        var label: String
        /// `stage.param` (or `seed`) → value text, in axis order.
        var overrides: [(target: String, value: String)]
        var details: RunDetails
        var metrics: RunMetrics

        init(label: String, overrides: [(target: String, value: String)], details: RunDetails, metrics: RunMetrics) {
            self.label = label; self.overrides = overrides; self.details = details; self.metrics = metrics
        }

        init(_ variant: RecordedVariant) {
            self.init(label: variant.member.variant, overrides: variant.member.overrides, details: variant.details, metrics: variant.metrics)
        }
    }

    /// The stage kind whose stages evaluate an arm.
    static let evaluationKind = "evaluate"

    /// An axis that only reseeds: the pipeline's `seed`, or a stage's `seed` param.
    static func isSeed(_ target: String) -> Bool { target == "seed" || target.hasSuffix(".seed") }

    static func collect(_ variants: [Variant], store: ArtifactStore) -> ArmComparison {
        aggregate(variants.flatMap { observations(of: $0, store: store) })
    }

    /// The variant's arm evaluations, in the run's stage order.
    static func observations(of variant: Variant, store: ArtifactStore) -> [Observation] {
        let details = variant.details
        let stageNames = details.stages.map(\.stage)
        var materials: [String: KeyMaterial] = [:]
        for execution in details.stages {
            if let material = store.material(ofKey: execution.key) { materials[execution.stage] = material }
        }
        // Input name → upstream stage, for inputs that came from a stage of this run (not paths).
        var upstream: [String: [(input: String, stage: String)]] = [:]
        for stage in stageNames {
            upstream[stage] = (materials[stage]?.inputs ?? []).compactMap { input -> (input: String, stage: String)? in
                producer(of: input.source, among: stageNames).map { (input: input.name, stage: $0) }
            }
        }
        // The registry lists stages in the order they finished, which timing decides: arms follow a
        // topological order with ties by name instead, so the page is the same whatever ran first.
        let evaluations = topologicalOrder(stageNames, upstream: upstream).compactMap { stage -> (evaluation: String, arm: String)? in
            guard materials[stage]?.kind == evaluationKind,
                  let arm = upstream[stage]?.first(where: { $0.input == "policy" })?.stage else { return nil }
            return (stage, arm)
        }
        guard !evaluations.isEmpty else { return [] }
        let costs = costStages(arms: evaluations.map(\.arm), evaluations: evaluations.map(\.evaluation),
                               upstream: upstream, order: stageNames)
        let seeds = variant.overrides.filter { isSeed($0.target) }
        let configuration = variant.overrides.filter { !isSeed($0.target) }.map { "\($0.target)=\($0.value)" }.joined(separator: ",")
        let seed = seeds.isEmpty ? variant.label : seeds.map(\.value).joined(separator: ",")

        var result: [Observation] = []
        for (evaluation, arm) in evaluations {
            guard let execution = details.stages.first(where: { $0.stage == evaluation }),
                  let file = EvaluationFile.find(execution, store: store) else { continue }
            let cost = costs[arm] ?? [arm]
            var wall: Double? = 0, cpu: Double? = 0
            for stage in cost {
                let seconds = buildSeconds(stage, details: details, store: store)
                wall = seconds.wall.flatMap { w in wall.map { $0 + w } }
                cpu = seconds.cpu.flatMap { c in cpu.map { $0 + c } }
            }
            let gold = variant.metrics.series[arm]?.filter { $0.key.hasPrefix("gold/") } ?? [:]
            let sourceOfBaseline = (materials[evaluation]?.inputs.first { $0.name == "baseline" }?.source).map(withoutVariant) ?? file.baselineGroup
            result.append(Observation(arm: arm, evaluation: evaluation, configuration: configuration, seed: seed,
                                      trained: file.trained, baseline: file.baseline, baselineSource: sourceOfBaseline,
                                      wallSeconds: wall, cpuSeconds: cpu, costStages: cost, gold: gold, samples: file.samples))
        }
        return result
    }

    /// Stages with every upstream stage first; among stages ready at once, by name (UTF-8 order).
    static func topologicalOrder(_ stages: [String], upstream: [String: [(input: String, stage: String)]]) -> [String] {
        var placed: Set<String> = []
        var order: [String] = []
        var remaining = stages.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        while !remaining.isEmpty {
            // A cycle cannot come from a pipeline; should one appear, the rest keep name order.
            let index = remaining.firstIndex { stage in (upstream[stage] ?? []).allSatisfy { placed.contains($0.stage) } } ?? 0
            let stage = remaining.remove(at: index)
            placed.insert(stage)
            order.append(stage)
        }
        return order
    }

    /// The stage an input's `stage.output` source names, if it is one of `stages`.
    static func producer(of source: String, among stages: [String]) -> String? {
        let plain = withoutVariant(source)
        guard let dot = plain.lastIndex(of: ".") else { return nil }
        let stage = String(plain[..<dot])
        return stages.contains(stage) ? stage : nil
    }

    /// `stage.output` without the sweep variant that built it: `sft[seed=2].model` → `sft.model`.
    static func withoutVariant(_ source: String) -> String {
        guard let open = source.firstIndex(of: "["), let close = source[open...].firstIndex(of: "]") else { return source }
        return String(source[..<open]) + String(source[source.index(after: close)...])
    }

    /// Each arm's cost: the arm, then (in stage order) the stages upstream of it that neither another
    /// arm nor any evaluation's other inputs (baseline, reward model, judge, data) depend on — e.g. the
    /// online pairs only the online DPO arm trains on; the shared SFT and reward model are no arm's.
    static func costStages(arms: [String], evaluations: [String], upstream: [String: [(input: String, stage: String)]],
                           order: [String]) -> [String: [String]] {
        func ancestors(of roots: [String]) -> Set<String> {
            var seen: Set<String> = []
            var stack = roots
            while let stage = stack.popLast() {
                guard seen.insert(stage).inserted else { continue }
                stack += (upstream[stage] ?? []).map(\.stage)
            }
            return seen
        }
        let sharedRoots = evaluations.flatMap { evaluation in (upstream[evaluation] ?? []).filter { $0.input != "policy" }.map(\.stage) }
        let shared = ancestors(of: sharedRoots)
        var result: [String: [String]] = [:]
        for arm in arms where result[arm] == nil {
            let others = ancestors(of: arms.filter { $0 != arm })
            let own = ancestors(of: [arm]).subtracting(shared).subtracting(others)
            result[arm] = [arm] + order.filter { $0 != arm && own.contains($0) }
        }
        return result
    }

    /// Wall and CPU seconds it took to build the stage's result: from its stage record (so a result
    /// this run took from the cache counts the run that built it), else this run's execution when it
    /// ran the stage (wall only). CPU is nil where the record has none (a Slurm job, an older record).
    static func buildSeconds(_ stage: String, details: RunDetails, store: ArtifactStore) -> (wall: Double?, cpu: Double?) {
        guard let execution = details.stages.first(where: { $0.stage == stage }) else { return (nil, nil) }
        if let key = Digest(hex: execution.key), let record = store.record(forKey: key) { return (record.durationSeconds, record.cpuSeconds) }
        return (execution.outcome == .ran ? execution.durationSeconds : nil, nil)
    }
}

/// What one evaluate stage wrote: metrics.json's baseline and trained groups (as SideBySide pairs
/// them) and its `comparison` figures, as numbers, and the completions in samples.jsonl.
struct EvaluationFile {
    var baselineGroup: String
    var trainedGroup: String
    var baseline: [String: Double]
    /// The trained group's figures and the comparison's (`rm_win_rate`, `judge_positive_rate_gain`).
    var trained: [String: Double]
    var samples: [ArmComparison.SampleRow]

    /// The group of head-to-head figures (trained against baseline) in evaluate's metrics.json.
    static let comparisonGroup = "comparison"

    static func find(_ execution: StageExecution, store: ArtifactStore) -> EvaluationFile? {
        for name in execution.outputs.keys.sorted(by: { $0.utf8Precedes($1) }) {
            let root = store.objectPath(execution.outputs[name]!)
            let files = ReportArtifacts.files(under: root, depth: 3)
            guard let metrics = files.first(where: { ($0 as NSString).lastPathComponent == "metrics.json" }),
                  let data = ReportArtifacts.read(root + "/" + metrics),
                  let value = try? JSONDecoder().decode(JSONValue.self, from: data) else { continue }
            let samplesPath = files.first { ($0 as NSString).lastPathComponent == "samples.jsonl" }.map { root + "/" + $0 }
            if let file = parse(value, samplesPath: samplesPath) { return file }
        }
        return nil
    }

    /// Nil when the file has no baseline group with a trained partner.
    static func parse(_ value: JSONValue, samplesPath: String?) -> EvaluationFile? {
        var texts: [(key: String, value: String)] = []
        ReportArtifacts.flatten(value, prefix: "", into: &texts)
        guard let paired = SideBySide.pair(texts) else { return nil }
        var numbers: [(key: String, value: Double)] = []
        flattenNumbers(value, prefix: "", into: &numbers)
        var baseline: [String: Double] = [:], trained: [String: Double] = [:]
        for (key, number) in numbers {
            guard let cut = key.firstIndex(where: { $0 == "." || $0 == "/" }) else { continue }
            let group = String(key[..<cut]), name = String(key[key.index(after: cut)...])
            guard !ArmComparison.countFigures.contains(name) else { continue }
            if group == paired.baseline { baseline[name] = number }
            if group == paired.trained || group == comparisonGroup { trained[name] = number }
        }
        var samples: [ArmComparison.SampleRow] = []
        if let samplesPath, let table = ReportArtifacts.samples(samplesPath, stage: "", source: "") {
            let columns = ["prompt", paired.baseline, paired.trained].map { table.columns.firstIndex(of: $0) }
            if let p = columns[0], let b = columns[1], let t = columns[2] {
                samples = table.rows.map { ArmComparison.SampleRow(prompt: $0[p], baseline: $0[b], trained: $0[t]) }
            }
        }
        return EvaluationFile(baselineGroup: paired.baseline, trainedGroup: paired.trained, baseline: baseline, trained: trained,
                              samples: samples)
    }

    static func flattenNumbers(_ value: JSONValue, prefix: String, into rows: inout [(key: String, value: Double)]) {
        switch value {
        case .object(let members):
            for key in members.keys.sorted(by: { $0.utf8Precedes($1) }) {
                flattenNumbers(members[key]!, prefix: prefix.isEmpty ? key : prefix + "." + key, into: &rows)
            }
        case .double(let d): rows.append((prefix, d))
        case .int(let i): rows.append((prefix, Double(i)))
        case .string(let s):
            // Non-finite numbers are written as strings ("nan", "inf").
            if let d = Double(s), !d.isFinite { rows.append((prefix, d)) }
        default: break
        }
    }
}
