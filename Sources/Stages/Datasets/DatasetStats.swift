/// What an import read, kept and dropped: `stats.json` of a dataset artifact (canonical JSON):
///
///     {"conflicting_labels":0,"duplicates":3,"filtered":{"empty":0,"too_long":0,"too_short":1},
///      "format":"alpaca","invalid":{"missing_field":2},"kept":994,
///      "lengths":{"completion":{"max":310,"mean":84.2,"min":1}},"records":1000,"rows":1000,
///      "splits":{"test":50,"train":899,"valid":45}}
///
/// `rows`: rows read (JSON rows and text lines, blank lines of JSONL files not counted);
/// `records`: records they gave (a ranked row gives one per pair) before de-duplication;
/// `invalid`: rows skipped by `skip_invalid`, by reason; `filtered`: records dropped by
/// `min_chars`/`max_chars` and empty text lines; `lengths`: characters of the main text fields of kept records.
public struct DatasetStats: Sendable, Equatable {
    public var format = ""
    public var rows = 0
    public var records = 0
    public var kept = 0
    public var duplicates = 0
    public var conflictingLabels = 0
    public var invalid: [String: Int] = [:]
    public var filtered: [String: Int] = ["empty": 0, "too_short": 0, "too_long": 0]
    public var splits: [String: Int] = [:]
    /// Field → (min, mean, max) characters.
    public var lengths: [String: [Double]] = [:]

    public var json: String {
        func counts(_ map: [String: Int]) -> String {
            JSONText.object(map.keys.sorted { $0.utf8Precedes($1) }.map { ($0, String(map[$0]!)) })
        }
        let lengthJSON = JSONText.object(lengths.keys.sorted { $0.utf8Precedes($1) }.map { name in
            let v = lengths[name]!
            return (name, JSONText.object([("max", JSONText.number(v[2])), ("mean", JSONText.number(v[1])),
                                           ("min", JSONText.number(v[0]))]))
        })
        return JSONText.object([
            ("conflicting_labels", String(conflictingLabels)), ("duplicates", String(duplicates)),
            ("filtered", counts(filtered)), ("format", JSONText.quoted(format)), ("invalid", counts(invalid)),
            ("kept", String(kept)), ("lengths", lengthJSON), ("records", String(records)), ("rows", String(rows)),
            ("splits", counts(splits)),
        ]) + "\n"
    }
}
