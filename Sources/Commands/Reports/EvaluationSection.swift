import Engine
import Foundation
import Hashing
import Store

/// The report's evaluation section: evaluation files and final metric values, a baseline and the
/// trained model side by side where a file or stage reports both, then samples and TensorBoard hints.
extension ReportBuilder {
    /// - Parameter inputSources: stage → input name → `stage.output` it was built from (from the
    ///   stage records), to say which models a side-by-side table compares.
    static func appendEvaluation(_ page: inout HTMLReport, artifacts: ReportArtifacts, metrics: RunMetrics, stages: [String],
                                 inputSources: [String: [String: String]] = [:]) {
        let finals = metrics.flattened
        if !artifacts.evaluations.isEmpty || !finals.isEmpty {
            page.heading("Evaluation")
            for table in artifacts.evaluations {
                page.heading("\(table.stage): \(table.source)", level: 3)
                let decodings = artifacts.decodings.first { $0.stage == table.stage && $0.source == table.source }
                // The decodings table shows the file's `decodings` entries; the list does not repeat them.
                let rows = decodings?.reading.isTable == true ? table.rows.filter { !$0.key.hasPrefix("decodings.") } : table.rows
                appendPaired(&page, rows, sources: inputSources[table.stage] ?? [:])
                if let decodings { appendDecodings(&page, decodings, artifacts: artifacts) }
            }
            if !finals.isEmpty {
                page.heading("Final metric values (last step of each series)", level: 3)
                // Per stage, so that a stage's `sft/…` and `ppo/…` metrics pair up.
                var rest: [[String]] = []
                let decodingStages = Set(artifacts.decodings.filter(\.reading.isTable).map(\.stage))
                for stage in stages + metrics.summary.keys.sorted().filter({ !stages.contains($0) }) {
                    guard var values = metrics.summary[stage] else { continue }
                    // Its `decoding/<name>/…` metrics are the decodings table's figures.
                    if decodingStages.contains(stage) { values = values.filter { !$0.key.hasPrefix("decoding/") } }
                    let entries = values.keys.sorted { $0.utf8Precedes($1) }.map { (key: $0, value: MetricFormat.value(values[$0]!)) }
                    if let paired = SideBySide.pair(entries) {
                        appendSideBySide(&page, paired, caption: stage, sources: inputSources[stage] ?? [:])
                        rest += paired.rest.map { ["\(stage).\($0.key)", $0.value] }
                    } else {
                        rest += entries.map { ["\(stage).\($0.key)", $0.value] }
                    }
                }
                if !rest.isEmpty { page.table(header: ["metric", "value"], rows: rest) }
            }
        }
        for samples in artifacts.samples {
            page.heading("Samples: \(samples.source)" + (samples.total > samples.rows.count ? " (first \(samples.rows.count) of \(samples.total))" : ""))
            page.table(header: samples.columns, rows: samples.rows, className: "data samples", numericFrom: 0)
        }
        if !artifacts.eventDirectories.isEmpty {
            page.heading("TensorBoard")
            page.paragraph("The stages also wrote TensorBoard event files; view them with:")
            for (stage, path) in artifacts.eventDirectories { page.raw("<p><code>tensorboard --logdir \(HTML.escape(path))</code> (\(HTML.escape(stage)))</p>\n") }
        }
    }

    /// An evaluation file's entries: a baseline and a trained model side by side when it has both,
    /// then the other entries as a list.
    static func appendPaired(_ page: inout HTMLReport, _ rows: [(key: String, value: String)], sources: [String: String]) {
        guard let paired = SideBySide.pair(rows) else {
            page.table(header: ["metric", "value"], rows: rows.map { [$0.key, $0.value] })
            return
        }
        appendSideBySide(&page, paired, caption: nil, sources: sources)
        if !paired.rest.isEmpty { page.table(header: ["metric", "value"], rows: paired.rest.map { [$0.key, $0.value] }) }
    }

    /// The pair's table, captioned with the models it compares: an evaluation stage's `baseline`
    /// and `policy` inputs name them (the evaluate stage calls any trained policy `ppo`).
    static func appendSideBySide(_ page: inout HTMLReport, _ paired: SideBySide, caption: String?, sources: [String: String]) {
        let prefix = caption.map { "\($0): " } ?? ""
        let baseline = sources["baseline"].map { "baseline: \($0)" } ?? "baseline"
        let trained = sources["policy"].map { "trained: \($0)" } ?? "trained"
        page.paragraph("\(prefix)\(paired.baseline) (\(baseline)) and \(paired.trained) (\(trained)) side by side", className: "meta")
        page.table(header: ["metric", paired.baseline, paired.trained, "\(paired.trained) − \(paired.baseline)"],
                   rows: paired.rows.map { [$0.metric, $0.baseline, $0.trained, $0.difference] }, className: "data paired")
    }

    /// Stage → input name → the `stage.output` it came from, from the stage records' key material.
    static func inputSources(_ details: RunDetails, store: ArtifactStore) -> [String: [String: String]] {
        var result: [String: [String: String]] = [:]
        for execution in details.stages {
            guard let key = Digest(hex: execution.key), let material = store.record(forKey: key)?.material else { continue }
            var sources: [String: String] = [:]
            for input in material.inputs { sources[input.name] = input.source }
            result[execution.stage] = sources
        }
        return result
    }
}
