import Foundation

/// Writes a whole dataset artifact from records in memory: `dataset.json` plus `<split>.jsonl` for
/// every split, records in the order given. For small generated datasets (tests, generator stages);
/// the `dataset` stage itself streams through `DatasetImport`.
public enum DatasetWriter {
    public static func write(kind: DatasetKind, splits: [String: [DatasetRecord]], sources: [DatasetManifest.Source] = [],
                             to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var fieldNames = Set<String>()
        for name in splits.keys.sorted(by: { $0.utf8Precedes($1) }) {
            var text = ""
            for record in splits[name]! {
                guard record.kind == kind else {
                    throw StageError.failed("split '\(name)': a \(record.kind.rawValue) record in a \(kind.rawValue) dataset")
                }
                fieldNames.formUnion(record.fields.keys)
                text += record.jsonLine + "\n"
            }
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name + ".jsonl"), options: .atomic)
        }
        let manifest = DatasetManifest(kind: kind, splits: splits.map { ($0.key, $0.value.count) },
                                       fields: Array(fieldNames), sources: sources)
        try Data(manifest.json.utf8).write(to: URL(fileURLWithPath: directory + "/" + DatasetManifest.fileName), options: .atomic)
    }
}
