import Models

/// `dataset`: JSONL / JSON-array files (or labelled text files) from a workspace path or an upstream
/// output → a normalised dataset artifact (`DatasetManifest`, `<split>.jsonl`, `stats.json`).
///
/// Records by kind and the artifact format: `DatasetRecord`, `DatasetManifest`, `DatasetStats`;
/// consumers read it with `DatasetReader`. Import details: `DatasetImport`.
public enum DatasetStage: BuiltinStage {
    public static let kind = "dataset"

    public static func checkParams(_ params: StageParams) throws { _ = try DatasetSettings(params) }

    public static func run(_ context: StageContext) throws {
        let source = try context.inputPath("source")
        let output = try context.outputPath("data")
        let settings = try DatasetSettings(context.params)
        let stats = try DatasetImport.run(
            source: source, sourceName: context.inputSource("source"), settings: settings, output: output,
            scratch: context.scratchPath, pool: WorkerPool(threads: context.threads), log: context.log,
            progress: { done, total in context.progress(phase: "import", step: done, total: total, message: "\(done)/\(total) files") })
        let splits = settings.splitNames.map { "\($0) \(stats.splits[$0] ?? 0)" }.joined(separator: ", ")
        let invalid = stats.invalid.keys.sorted().map { "\($0) \(stats.invalid[$0]!)" }.joined(separator: ", ")
        context.log("dataset: \(settings.kind.rawValue) (\(stats.format)): \(stats.rows) rows → \(stats.records) records → "
            + "\(stats.kept) kept (\(splits)); \(stats.duplicates) duplicates, \(stats.conflictingLabels) with conflicting labels, "
            + "filtered \(stats.filtered["empty"] ?? 0) empty, \(stats.filtered["too_short"] ?? 0) too short, "
            + "\(stats.filtered["too_long"] ?? 0) too long" + (invalid.isEmpty ? "" : "; skipped invalid: \(invalid)"))
        context.metrics(step: 0, [("dataset/records", Double(stats.kept)), ("dataset/train", Double(stats.splits["train"] ?? 0))])
    }
}
