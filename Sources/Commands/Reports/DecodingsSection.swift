import Foundation

/// An evaluation file's decodings, found next to its samples: what the report's decodings table
/// and the answers side by side come from.
struct DecodingsFile {
    var stage: String
    /// Where the metrics.json is, as the evaluation table names it (`eval.report/metrics.json`).
    var source: String
    var reading: DecodingsTable.Reading

    /// The decodings of a metrics.json file; nil when the file is unreadable or not a JSON object
    /// (the evaluation table leaves such files out too).
    static func read(_ path: String, stage: String, source: String) -> DecodingsFile? {
        guard let data = ReportArtifacts.read(path), let metrics = OrderedJSON.parse(data), metrics.isObject else { return nil }
        return DecodingsFile(stage: stage, source: source, reading: DecodingsTable.read(metrics))
    }

    /// The samples file written next to it (same stage, same folder), if the report read one.
    func samples(in artifacts: ReportArtifacts) -> ReportArtifacts.Samples? {
        let folder = (source as NSString).deletingLastPathComponent
        return artifacts.samples.first { $0.stage == stage && ($0.source as NSString).deletingLastPathComponent == folder }
    }
}

/// The same prompts answered with each decoding: evaluate's samples.jsonl holds the headline
/// decoding's answers as `sft`/`ppo` and each other decoding's as `sft_<name>`/`ppo_<name>` (with
/// `…_rm`, the answer's reward-model score).
struct DecodingAnswers: Equatable {
    var header: [String]
    /// Per prompt, one row per model: prompt (on the first row only), model, one answer per decoding.
    var rows: [[String]]
    var prompts: Int
    /// Whether the samples file has more prompts than shown.
    var truncated: Bool

    /// Prompts shown, each with one row per model.
    static let maxPrompts = 10

    /// The answers, or nil unless the samples carry another decoding's answers than the headline's.
    init?(_ table: DecodingsTable, samples: ReportArtifacts.Samples) {
        func column(_ name: String) -> Int? { samples.columns.firstIndex(of: name) }
        func key(_ model: String, _ decoding: Int) -> String { decoding == 0 ? model : "\(model)_\(table.decodings[decoding].name)" }
        guard let promptColumn = column("prompt"),
              table.decodings.indices.dropFirst().contains(where: { d in table.models.contains { column(key($0, d)) != nil } })
        else { return nil }

        // The first answer to each prompt (the sampled decoding draws several per prompt, one after another).
        var firstRows: [[String]] = []
        for row in samples.rows where row.indices.contains(promptColumn) && firstRows.last?[promptColumn] != row[promptColumn] {
            firstRows.append(row)
        }
        let models = table.models.filter { model in table.decodings.indices.contains { column(key(model, $0)) != nil } }
        header = ["prompt", "model"] + table.decodings.enumerated().map { $0.element.label + ($0.offset == 0 ? " (headline)" : "") }
        rows = []
        for sample in firstRows.prefix(Self.maxPrompts) {
            for (m, model) in models.enumerated() {
                var row = [m == 0 ? sample[promptColumn] : "", model]
                for d in table.decodings.indices {
                    guard let answer = column(key(model, d)), sample.indices.contains(answer) else { row.append("-"); continue }
                    let score = column(key(model, d) + "_rm").flatMap { sample.indices.contains($0) ? sample[$0] : nil }
                    row.append(sample[answer] + (score.map { $0.isEmpty ? "" : "\n(RM \($0))" } ?? ""))
                }
                rows.append(row)
            }
        }
        prompts = min(firstRows.count, Self.maxPrompts)
        truncated = firstRows.count > Self.maxPrompts || samples.total > samples.rows.count
    }
}

extension ReportBuilder {
    /// Under an evaluation file's entry: its decodings table and, when the samples carry them, the
    /// same prompts answered with each decoding; for a malformed `decodings`, a note.
    static func appendDecodings(_ page: inout HTMLReport, _ file: DecodingsFile, artifacts: ReportArtifacts) {
        switch file.reading {
        case .absent:
            return
        case .malformed(let reason):
            page.paragraph("No decodings table: \(reason) in \(file.source).", className: "meta note")
        case .table(let table):
            page.heading("\(file.stage): decodings side by side", level: 3)
            page.groupedTable(table.groups, rows: table.rows, className: "data decodings")
            page.paragraph(table.legend, className: "meta")
            guard let samples = file.samples(in: artifacts), let answers = DecodingAnswers(table, samples: samples) else { return }
            page.heading("\(file.stage): answers by decoding" + (answers.truncated ? " (first \(answers.prompts) prompts)" : ""), level: 3)
            page.table(header: answers.header, rows: answers.rows, className: "data samples decoding-answers", numericFrom: 99)
        }
    }
}
