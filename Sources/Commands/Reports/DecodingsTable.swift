import Foundation
import JSONQuoting

/// metrics.json read with its objects in file order (the store's `JSONValue` keeps them as
/// dictionaries): the one ordered JSON reader, the datasets', which also refuses repeated keys.
typealias OrderedJSON = JSONQuoting.JSONValue

/// evaluate's decodings side by side (metrics.json `decodings`: {name: {settings…, sft: {…}, ppo: {…},
/// comparison: {…}}} in the listed order, the first being the headline): one row per decoding, its
/// settings in short form, then each figure of the baseline and the policy, then the comparison.
struct DecodingsTable: Equatable {
    /// One decoding as the file gives it.
    struct Decoding: Equatable {
        var name: String
        /// `beam 4`, `sample T=1.0 ×2`, `greedy`.
        var label: String
    }

    /// What a metrics.json says about decodings.
    enum Reading: Equatable {
        /// No `decodings`, or only one: nothing to compare.
        case absent
        case table(DecodingsTable)
        /// `decodings` is there but not of evaluate's shape: why, for a note in the report.
        case malformed(String)

        var isTable: Bool {
            if case .table = self { return true }
            return false
        }
    }

    var decodings: [Decoding]
    /// The model groups in column order: the baseline first (`sft`), then the policy (`ppo`).
    var models: [String]
    /// One header per column (`sft RM reward`), as the Markdown table has it.
    var header: [String]
    /// The same columns grouped for the HTML table's two-row header (`RM reward` over `sft`, `ppo`).
    var groups: [HTMLReport.ColumnGroup]
    var rows: [[String]]

    /// Key → header of the figures a model group has, in the order they are shown; others follow
    /// in the order first seen. Counts (`samples`) are left out: they are not measurements.
    static let figureHeaders = FigureNames.named(
        ["rm_reward_mean", "judge_positive_rate", "judge_score_mean", "distinct_2", "distinct_1", "response_chars_mean",
         "kl_to_reference_nats", "heldout_perplexity"],
        renamed: ["kl_to_reference_nats": "KL (nats)"])
    static let comparisonHeaders = FigureNames.named(["rm_win_rate", "rm_reward_gain", "judge_positive_rate_gain"],
                                                     renamed: ["rm_win_rate": "RM win rate"])

    /// The table of a metrics.json object, or why there is none.
    static func read(_ metrics: OrderedJSON) -> Reading {
        guard let decodings = metrics["decodings"] else { return .absent }
        guard case .object(let entries) = decodings else {
            return .malformed("`decodings` is \(decodings.typeName), not an object of decodings ({name: {settings…, sft: {…}, ppo: {…}, comparison: {…}}})")
        }
        var seen: [String] = []
        for entry in entries {
            guard !seen.contains(entry.key) else { return .malformed("decoding `\(entry.key)` is listed twice in `decodings`") }
            seen.append(entry.key)
            guard case .object(let members) = entry.value else {
                return .malformed("decoding `\(entry.key)` in `decodings` is \(entry.value.typeName), not an object")
            }
            for member in members where isGroupName(member.key) {
                guard case .object = member.value else {
                    return .malformed("`decodings.\(entry.key).\(member.key)` is \(member.value.typeName), not an object of figures")
                }
            }
        }
        guard entries.count > 1 else { return .absent }
        return .table(build(entries))
    }

    /// Members that hold a model's figures or the comparison, not a setting.
    static func isGroupName(_ key: String) -> Bool {
        let lower = key.lowercased()
        return lower == "comparison" || SideBySide.baselineNames.contains(lower) || SideBySide.trainedNames.contains(lower)
    }

    private static func build(_ entries: [JSONMember]) -> DecodingsTable {
        // Models: every object member but the comparison, the baseline first, then the policy, then the rest as first seen.
        var modelNames: [String] = []
        for entry in entries {
            guard case .object(let members) = entry.value else { continue }
            for member in members where member.key != "comparison" && !modelNames.contains(member.key) {
                if case .object = member.value { modelNames.append(member.key) }
            }
        }
        let baseline = modelNames.first { SideBySide.baselineNames.contains($0.lowercased()) }
        let trained = modelNames.first { $0 != baseline && SideBySide.trainedNames.contains($0.lowercased()) }
        let models = [baseline, trained].compactMap { $0 } + modelNames.filter { $0 != baseline && $0 != trained }

        let figures = ordered(entries.flatMap { entry in models.flatMap { figureKeys(entry.value[$0]) } }, preferred: figureHeaders.map(\.key))
        let comparison = ordered(entries.flatMap { figureKeys($0.value["comparison"]) }, preferred: comparisonHeaders.map(\.key))

        var header = ["decoding"]
        var groups = [HTMLReport.ColumnGroup(title: "decoding", columns: ["decoding"])]
        for key in figures {
            let columns = models.map { "\($0) \(readable(key, headers: figureHeaders))" }
            header += columns
            groups.append(models.count > 1 ? .init(title: readable(key, headers: figureHeaders), columns: models) : .init(title: columns[0], columns: columns))
        }
        for key in comparison {
            let title = readable(key, headers: comparisonHeaders)
            header.append(title)
            groups.append(.init(title: title, columns: [title]))
        }
        var rows: [[String]] = []
        var decodings: [Decoding] = []
        for (index, entry) in entries.enumerated() {
            let decoding = Decoding(name: entry.key, label: label(entry.key, entry.value))
            decodings.append(decoding)
            var row = [decoding.label + (index == 0 ? " (headline)" : "")]
            for key in figures { row += models.map { cell(entry.value[$0].flatMap { figure(key, in: $0) }, signed: false) } }
            row += comparison.map { key in cell(entry.value["comparison"].flatMap { figure(key, in: $0) }, signed: key.hasSuffix("_gain")) }
            rows.append(row)
        }
        return DecodingsTable(decodings: decodings, models: models, header: header, groups: groups, rows: rows)
    }

    /// A group's figure keys in file order; a nested object's members as `outer.inner`. Counts are left out.
    static func figureKeys(_ group: OrderedJSON?) -> [String] {
        guard case .object(let members)? = group else { return [] }
        return members.flatMap { member -> [String] in
            if case .object(let inner) = member.value { return inner.map { member.key + "." + $0.key } }
            return ArmComparison.countFigures.contains(member.key) ? [] : [member.key]
        }
    }

    static func figure(_ key: String, in group: OrderedJSON) -> OrderedJSON? {
        guard let dot = key.firstIndex(of: "."), group[key] == nil else { return group[key] }
        return group[String(key[..<dot])]?[String(key[key.index(after: dot)...])]
    }

    /// The distinct keys, those of `preferred` first in its order, then the others as first seen.
    static func ordered(_ keys: [String], preferred: [String]) -> [String] {
        var seen: [String] = []
        for key in keys where !seen.contains(key) { seen.append(key) }
        return preferred.filter(seen.contains) + seen.filter { !preferred.contains($0) }
    }

    /// The header of a figure: its readable name when known, else the key with spaces
    /// (`reward_sources.rule` → `reward sources rule`).
    static func readable(_ key: String, headers: [(key: String, header: String)]) -> String {
        headers.first { $0.key == key }?.header
            ?? key.replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: ".", with: " ")
    }

    /// A figure as the report writes numbers; "-" when missing or null.
    static func cell(_ value: OrderedJSON?, signed: Bool) -> String {
        switch value {
        case .number(let x)?:
            return (signed && x > 0 ? "+" : "") + MetricFormat.value(x)
        case .string(let s)?: return s
        case .bool(let b)?: return b ? "true" : "false"
        case .array(let items)?: return "[" + items.map { cell($0, signed: false) }.joined(separator: ", ") + "]"
        case .object?: return "{…}"
        case .null?, nil: return "-"
        }
    }

    /// The decoding's name with its settings in short form: `beam 4`, `beam 4 lp=0.8`,
    /// `sample T=1.0 ×2`, `greedy`; settings it does not know as `key=value`.
    static func label(_ name: String, _ entry: OrderedJSON) -> String {
        guard case .object(let members) = entry else { return name }
        let settings = members.filter { !isGroupName($0.key) && !($0.value.isObject) }
        var parts = [name]
        func setting(_ key: String) -> OrderedJSON? { settings.first { $0.key == key }?.value }
        if let beams = setting("num_beams") { parts[0] += " " + cell(beams, signed: false) }
        if let t = setting("temperature") { parts.append("T=" + float(t)) }
        if let lp = setting("length_penalty"), lp != .number(1) { parts.append("lp=" + float(lp)) }
        if let n = setting("samples_per_prompt"), n != .number(1) { parts.append("×" + cell(n, signed: false)) }
        let known: Set<String> = ["num_beams", "temperature", "length_penalty", "samples_per_prompt"]
        parts += settings.filter { !known.contains($0.key) }.map { "\($0.key)=\(cell($0.value, signed: false))" }
        return parts.joined(separator: " ")
    }

    /// A real-valued setting with its decimal point (`1.0`, `0.7`), as a pipeline writes it.
    static func float(_ value: OrderedJSON) -> String {
        let text = cell(value, signed: false)
        guard case .number = value, Double(text) != nil, !text.contains("."), !text.contains("e") else { return text }
        return text + ".0"
    }

    /// What the cells mean, under the table in both renderings.
    var legend: String {
        let pair = models.count >= 2 ? "\(models[1]) vs \(models[0])" : "policy vs baseline"
        return "One row per decoding of the same held-out prompts; the first (headline) is the one the figures at the top "
            + "of metrics.json use. RM win rate (\(pair)): share of answers where the policy's RM reward beats the baseline's "
            + "answer to the same prompt (ties count ½); gains: policy − baseline. \"-\": not in the file."
    }

    /// The table as Markdown, pasteable into a README; the decoding column left, figures right.
    var markdown: String {
        MarkdownTable.render(header: header, rows: rows, rightAligned: { $0 > 0 }) + "\n" + legend + "\n"
    }
}

extension JSONQuoting.JSONValue {
    /// The value of a JSON text, or nil when the text is not exactly one valid JSON value.
    static func parse(_ data: Data) -> OrderedJSON? { try? JSONParser.parse(data) }

    var isObject: Bool {
        if case .object = self { return true }
        return false
    }
}
