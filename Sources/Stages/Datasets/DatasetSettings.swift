import JSONQuoting
import Hashing

/// The `dataset` stage's params (docs and defaults in stages/dataset.yaml), checked.
public struct DatasetSettings: Sendable {
    public var kind: DatasetKind
    public var format: RowFormat
    public var columns: ColumnMap
    /// Labelled text files inside a source folder (label 1 and label 0).
    public var positiveFile: String, negativeFile: String
    /// Split name → fraction, in the order splits take their share of the hash line (named extra
    /// splits first, then valid, then test); train takes the rest.
    public var splitFractions: [(name: String, fraction: Double)]
    public var minChars: Int, maxChars: Int
    /// Collapse whitespace runs (including line breaks) to one space, or keep the text's lines.
    public var collapseWhitespace: Bool
    public var skipInvalid: Bool

    public init(_ p: StageParams) throws {
        let kindName = try p.string("kind")
        guard let kind = DatasetKind(rawValue: kindName) else {
            throw StageError.badParam("kind", "'\(kindName)' is not one of " + DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.kind = kind
        let formatName = try p.string("format")
        guard let format = RowFormat(rawValue: formatName) else {
            throw StageError.badParam("format", "'\(formatName)' is not one of " + RowFormat.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard format == .auto || RowFormat.accepted(by: kind).contains(format) else {
            throw StageError.badParam("format", "'\(formatName)' does not fit kind '\(kindName)' (it takes auto, "
                + RowFormat.accepted(by: kind).map(\.rawValue).joined(separator: ", ") + ")")
        }
        self.format = format
        var columns = ColumnMap()
        columns.text = try p.string("text_column")
        columns.label = try p.string("label_column")
        columns.prompt = try p.string("prompt_column")
        columns.completion = try p.string("completion_column")
        columns.chosen = try p.string("chosen_column")
        columns.rejected = try p.string("rejected_column")
        columns.messages = try p.string("messages_column")
        columns.responses = try p.string("responses_column")
        columns.instruction = try p.string("instruction_column")
        columns.input = try p.string("input_column")
        columns.output = try p.string("output_column")
        columns.margin = try p.string("margin_column")
        for (name, value) in [("text_column", columns.text), ("label_column", columns.label), ("prompt_column", columns.prompt),
                              ("completion_column", columns.completion), ("chosen_column", columns.chosen),
                              ("rejected_column", columns.rejected), ("messages_column", columns.messages),
                              ("responses_column", columns.responses), ("instruction_column", columns.instruction),
                              ("input_column", columns.input), ("output_column", columns.output)] where value.isEmpty {
            throw StageError.badParam(name, "must name a column")
        }
        if !columns.margin.isEmpty, kind != .preference {
            throw StageError.badParam("margin_column", "only preference datasets have a margin")
        }
        if !columns.margin.isEmpty, format == .ranked {
            throw StageError.badParam("margin_column", "a ranked list has no margin column (its pairs come from the order)")
        }
        self.columns = columns
        positiveFile = try p.string("positive_file")
        negativeFile = try p.string("negative_file")

        var fractions: [(String, Double)] = []
        for entry in try p.strings("extra_splits") {
            let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let fraction = Double(parts[1]) else {
                throw StageError.badParam("extra_splits", "'\(entry)' is not 'name:fraction' (e.g. 'judge:0.45')")
            }
            let name = parts[0]
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                throw StageError.badParam("extra_splits", "split name '\(name)' must be ASCII letters, digits, '_' or '-'")
            }
            guard !["train", "valid", "test"].contains(name), !fractions.contains(where: { $0.0 == name }) else {
                throw StageError.badParam("extra_splits", "split '\(name)' is given twice (train, valid and test always exist)")
            }
            fractions.append((name, fraction))
        }
        fractions.append(("valid", try p.double("valid_fraction")))
        fractions.append(("test", try p.double("test_fraction")))
        for (name, fraction) in fractions where !(0...1).contains(fraction) {
            throw StageError.badParam(name == "valid" || name == "test" ? "\(name)_fraction" : "extra_splits",
                                      "the \(name) fraction must be between 0 and 1, got \(fraction)")
        }
        guard fractions.reduce(0, { $0 + $1.1 }) < 1 else {
            throw StageError.badParam("valid_fraction", "extra, valid and test fractions must leave some data for train")
        }
        splitFractions = fractions
        minChars = try p.int("min_chars")
        maxChars = try p.int("max_chars")
        switch try p.string("whitespace") {
        case "auto": collapseWhitespace = kind == .text || kind == .labelled
        case "collapse": collapseWhitespace = true
        case "keep": collapseWhitespace = false
        case let other: throw StageError.badParam("whitespace", "'\(other)' is not auto, collapse or keep")
        }
        skipInvalid = try p.bool("skip_invalid")
    }

    /// Every split, in the order of `dataset.json` (sorted by name).
    public var splitNames: [String] {
        (splitFractions.map(\.name) + ["train"]).sorted { $0.utf8Precedes($1) }
    }

    /// The split of a record, from the hash of its prompt side (`ContentSplit.unitHash`, salt
    /// "pipe.split.v1"): extra splits, valid and test take their shares of the hash line
    /// in that order, train the rest. With `extra_splits: [judge:F]` it gives the judge its split.
    public func split(ofKey key: String) -> String { split(ofKey: Array(key.utf8)) }

    /// `split(ofKey:)` of a key's UTF-8 bytes (the same number as `ContentSplit.unitHash`).
    func split(ofKey key: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(Self.splitSalt)
        key.withUnsafeBytes { hasher.update($0) }
        let x = hasher.finalize().bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let u = Double(x >> 11) / Double(1 << 53)
        var edge = 0.0
        for (name, fraction) in splitFractions {
            edge += fraction
            if u < edge { return name }
        }
        return "train"
    }

    private static let splitSalt = Array("pipe.split.v1\n".utf8)

    /// The format of a file's rows, `auto` resolved from its first row's columns:
    /// prompt-completion: `messages_column` → chat; `instruction_column` and `output_column` → alpaca; else columns.
    /// preference: `responses_column` → ranked; `instruction_column` with a list in `output_column` → chatglm;
    /// `prompt_column` → columns (explicit); else implicit. Other kinds: columns.
    func resolvedFormat(firstRow: JSONValue?) -> RowFormat {
        guard format == .auto else { return format }
        guard case .object(let members)? = firstRow else { return .columns }
        let has = { (name: String) in members.contains { $0.key == name } }
        switch kind {
        case .promptCompletion:
            if has(columns.messages) { return .chat }
            if has(columns.instruction) && has(columns.output) { return .alpaca }
            return .columns
        case .preference:
            if has(columns.responses) { return .ranked }
            if has(columns.instruction), case .array? = firstRow?[columns.output] { return .chatglm }
            // A string prompt beside whole conversations (HF's ultrafeedback_binarized): the conversations
            // carry the prompt turns, so they are split as implicit pairs, as TRL's maybe_extract_prompt does.
            if case .string? = firstRow?[columns.prompt], case .array(let turns)? = firstRow?[columns.chosen],
               case .object? = turns.first, turns.first?["role"]?.string != "assistant" { return .implicit }
            if has(columns.prompt) { return .columns }
            return .implicit
        default:
            return .columns
        }
    }
}
