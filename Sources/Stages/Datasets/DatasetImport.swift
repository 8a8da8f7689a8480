import Foundation
import Hashing
import Models

/// Imports source files into a dataset artifact: reads rows as a stream, maps and normalises them
/// into records, drops invalid rows (or fails on the first), assigns splits by content hash, and
/// writes `<split>.jsonl` (sorted by content hash, de-duplicated), `dataset.json` and `stats.json`.
///
/// Memory does not grow with the source: rows are processed one at a time and spilled to hash
/// buckets in `scratch` (`SplitBuckets`), which are sorted one bucket at a time.
public enum DatasetImport {
    /// One file to read.
    struct SourceFile {
        var path: String
        /// As messages and `dataset.json` name it (relative to the source input).
        var relative: String
        var format: SourceFileFormat
    }

    /// Rows read before a batch is parsed, mapped and hashed on the pool, and rows per task: fixed (so
    /// the work is the same at any thread count) and small (so memory stays flat).
    static let batchRows = 2048
    static let rowsPerTask = 128

    /// A record made ready on a worker: everything `SplitBuckets` needs, computed off the main thread.
    struct PreparedRecord {
        var lengths: [Int]
        var fieldNames: [String]
        var line: [UInt8]
        var split: String
        var orderDigest: [UInt8]
    }

    /// A row after parsing and mapping.
    enum PreparedRow {
        case failure(RowError)
        /// A text line that normalised to nothing.
        case emptyLine
        case records([PreparedRecord], fromTextLine: Bool)
    }

    /// - Parameters:
    ///   - source: the `source` input, a file or a directory.
    ///   - sourceName: how messages name the source (e.g. `data/reviews`); nil: its path.
    ///   - pool: workers that parse, map and hash rows (batch by batch, added in row order: the same
    ///     bytes at any thread count); nil: this thread only.
    public static func run(source: String, sourceName: String? = nil, settings: DatasetSettings, output: String,
                           scratch: String, pool: WorkerPool? = nil, log: (String) -> Void = { _ in },
                           progress: (Int, Int) -> Void = { _, _ in }) throws -> DatasetStats {
        let files = try sourceFiles(source: source, sourceName: sourceName, settings: settings, note: log)
        let totalBytes = files.reduce(0) { $0 + fileSize($1.path) }
        let buckets = SplitBuckets(directory: scratch, splits: settings.splitNames, sourceBytes: totalBytes)
        let pool = pool ?? WorkerPool(threads: 1)
        var stats = DatasetStats()
        // With `format: auto`, each file's shape is detected from its first row.
        var formatsUsed = Set<String>()
        var fieldNames = Set<String>()
        var sources: [DatasetManifest.Source] = []
        // One cleaner per worker: its scalar-class cache is not shared between threads.
        let cleaners = (0..<pool.threads).map { _ in TextCleaner() }
        let collapse = settings.collapseWhitespace
        let mainFields = mainFieldNames(settings)

        for (fileIndex, file) in files.enumerated() {
            sources.append(DatasetManifest.Source(path: file.relative, digest: try sha256(ofFile: file.path)))
            var format: RowFormat?
            let reader = try SourceRowReader(path: file.path, display: file.displayName(sourceName: sourceName, source: source),
                                             format: file.format)
            var batch: [(place: RowPlace, raw: RawRow)] = []
            batch.reserveCapacity(batchRows)

            func process() throws {
                let parsed = parallelMap(batch.count, pool: pool) { i, _ in batch[i].raw.parsed() }
                if format == nil {
                    for result in parsed {
                        if case .success(.json(let value)) = result {
                            format = settings.resolvedFormat(firstRow: value)
                            formatsUsed.insert(format!.rawValue)
                            break
                        }
                    }
                }
                let prepared = parallelMap(batch.count, pool: pool) { i, worker -> PreparedRow in
                    let cleaner = cleaners[worker]
                    let normalise: (String) -> String = { collapse ? cleaner.collapse($0) : cleaner.keepLines($0) }
                    return prepare(parsed[i], format: format, normalise: normalise, settings: settings)
                }
                for (i, row) in prepared.enumerated() {
                    stats.rows += 1
                    switch row {
                    case .failure(let error):
                        guard settings.skipInvalid else {
                            throw StageError.failed("\(batch[i].place): \(error.message) (" + (error.hint.map { $0 + ", or " } ?? "")
                                + "set skip_invalid: true to skip such rows)")
                        }
                        stats.invalid[error.reason, default: 0] += 1
                    case .emptyLine:
                        stats.filtered["empty", default: 0] += 1
                    case .records(let records, let fromTextLine):
                        if fromTextLine { formatsUsed.insert(RowFormat.columns.rawValue) }
                        for record in records {
                            stats.records += 1
                            if record.lengths.contains(where: { $0 < settings.minChars }) { stats.filtered["too_short", default: 0] += 1; continue }
                            if settings.maxChars > 0, record.lengths.contains(where: { $0 > settings.maxChars }) {
                                stats.filtered["too_long", default: 0] += 1; continue
                            }
                            fieldNames.formUnion(record.fieldNames)
                            try buckets.add(split: record.split, orderDigest: record.orderDigest, lengths: record.lengths, line: record.line)
                        }
                    }
                }
                batch.removeAll(keepingCapacity: true)
            }

            while true {
                let row: (RowPlace, RawRow)?
                do { row = try reader.next() } catch {
                    try process()  // a bad row before a file-level problem is reported first, as it comes first
                    throw error
                }
                guard let row else { break }
                batch.append((row.0, row.1))
                if batch.count == batchRows { try process() }
            }
            try process()
            progress(fileIndex + 1, files.count)
        }

        // An empty export or a wrong file: an empty dataset would only fail later, far from its cause.
        guard stats.rows > 0 else {
            let name = sourceName ?? source
            throw StageError.badInput("source", files.count == 1 && files[0].path == source ? "\(name): no rows (the file is empty)"
                : "\(name): no rows in its \(files.count) file\(files.count == 1 ? "" : "s") (all empty)")
        }
        var manifestSplits: [(name: String, count: Int)] = []
        var lengthTotals = Array(repeating: (min: Int.max, sum: 0, max: 0), count: mainFields.count)
        for split in settings.splitNames {
            let outcome = try buckets.finish(split: split, to: output + "/" + split + ".jsonl", fieldCount: mainFields.count)
            manifestSplits.append((split, outcome.kept))
            stats.splits[split] = outcome.kept
            stats.kept += outcome.kept
            stats.duplicates += outcome.duplicates
            stats.conflictingLabels += outcome.conflicting
            for k in 0..<mainFields.count {
                lengthTotals[k] = (min(lengthTotals[k].min, outcome.lengths[k].min), lengthTotals[k].sum + outcome.lengths[k].sum,
                                   max(lengthTotals[k].max, outcome.lengths[k].max))
            }
        }
        if stats.kept > 0 {
            for (k, name) in mainFields.enumerated() {
                let mean = (Double(lengthTotals[k].sum) / Double(stats.kept) * 100).rounded() / 100
                stats.lengths[name] = [Double(lengthTotals[k].min), mean, Double(lengthTotals[k].max)]
            }
        }
        stats.format = formatsUsed.isEmpty ? (settings.format == .auto ? RowFormat.columns.rawValue : settings.format.rawValue)
            : formatsUsed.sorted().joined(separator: "+")
        let manifest = DatasetManifest(kind: settings.kind, splits: manifestSplits, fields: Array(fieldNames), sources: sources)
        try Data(manifest.json.utf8).write(to: URL(fileURLWithPath: output + "/" + DatasetManifest.fileName), options: .atomic)
        try Data(stats.json.utf8).write(to: URL(fileURLWithPath: output + "/stats.json"), options: .atomic)
        return stats
    }

    // MARK: Sources

    /// The files of the source input, in UTF-8 order of their names: a single file, or the
    /// `.jsonl`/`.json`/`.parquet`/`.arrow`/`.csv`/`.tsv` files of a directory (plus `.txt` files for `text`, and the
    /// positive and negative files for `labelled`), or the Arrow shards of a `save_to_disk` folder in
    /// its `state.json` order (a `DatasetDict`'s `train` split: `note` says so).
    static func sourceFiles(source: String, sourceName: String?, settings: DatasetSettings,
                            note: (String) -> Void = { _ in }) throws -> [SourceFile] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
            throw StageError.badInput("source", "\(sourceName ?? source) does not exist")
        }
        if !isDirectory.boolValue {
            let name = sourceName.map { ($0 as NSString).lastPathComponent } ?? (source as NSString).lastPathComponent
            return [SourceFile(path: source, relative: name, format: try fileFormat(path: source, name: name, settings: settings))]
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: source)) ?? []
        let folderName = sourceName ?? source
        if let saved = try SavedDataset.files(folder: source, display: folderName, names: names, note: note) {
            return saved.map { SourceFile(path: source + "/" + $0, relative: $0, format: .arrow) }
        }
        var files: [SourceFile] = []
        for name in names.sorted(by: { $0.utf8Precedes($1) }) {
            let path = source + "/" + name
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { continue }
            let format: SourceFileFormat
            if settings.kind == .labelled && name == settings.positiveFile { format = .textLines(label: 1) }
            else if settings.kind == .labelled && name == settings.negativeFile { format = .textLines(label: 0) }
            else if name.hasSuffix(".jsonl") { format = .jsonLines }
            else if name.hasSuffix(".json") { format = .jsonArray }
            else if let columnar = columnarFormat(name) { format = columnar }
            else if name.hasSuffix(".txt"), settings.kind == .text { format = .textLines(label: nil) }
            else { continue }
            files.append(SourceFile(path: path, relative: name, format: format))
        }
        guard !files.isEmpty else {
            let labelled = settings.kind == .labelled ? " or \(settings.positiveFile) / \(settings.negativeFile)" : ""
            let text = settings.kind == .text ? ", .txt" : ""
            throw StageError.badInput("source", "no .jsonl, .json, .parquet, .arrow, .csv, .tsv\(text) files\(labelled) in \(sourceName ?? source)")
        }
        return files
    }

    /// Parquet, Arrow, CSV and TSV files by their extension.
    static func columnarFormat(_ name: String) -> SourceFileFormat? {
        let lower = name.lowercased()
        if lower.hasSuffix(".parquet") { return .parquet }
        if lower.hasSuffix(".arrow") { return .arrow }
        if lower.hasSuffix(".csv") { return .csv(separator: UInt8(ascii: ",")) }
        if lower.hasSuffix(".tsv") { return .csv(separator: UInt8(ascii: "\t")) }
        return nil
    }

    /// A single file's format: by its extension, else by its first byte (`[`: JSON array, `{`: JSON lines).
    static func fileFormat(path: String, name: String, settings: DatasetSettings) throws -> SourceFileFormat {
        if name.hasSuffix(".jsonl") { return .jsonLines }
        if name.hasSuffix(".json") { return .jsonArray }
        if let columnar = columnarFormat(name) { return columnar }
        if name.hasSuffix(".txt") {
            switch settings.kind {
            case .text: return .textLines(label: nil)
            case .labelled where name == settings.positiveFile: return .textLines(label: 1)
            case .labelled where name == settings.negativeFile: return .textLines(label: 0)
            default: break
            }
        }
        let handle = FileHandle(forReadingAtPath: path)
        let head = (try? handle?.read(upToCount: 4096)) ?? nil
        try? handle?.close()
        let first = head?.first { ![0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) }
        switch first {
        case UInt8(ascii: "[")?: return .jsonArray
        case UInt8(ascii: "{")?: return .jsonLines
        default:
            if settings.kind == .text { return .textLines(label: nil) }
            throw StageError.badInput("source", "\(name): not JSON lines or a JSON array (name the file .jsonl or .json)")
        }
    }

    // MARK: Records

    /// The text fields `min_chars`, `max_chars` and the length stats look at.
    /// `body(i, worker)` for i in 0..<count on the pool in tasks of `rowsPerTask`, results in index order.
    static func parallelMap<T>(_ count: Int, pool: WorkerPool, _ body: (Int, Int) -> T) -> [T] {
        var results = [T?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { out in
            let slots = out.baseAddress!
            pool.run(tasks: (count + rowsPerTask - 1) / rowsPerTask) { task, worker in
                for i in (task * rowsPerTask)..<min(count, (task + 1) * rowsPerTask) { slots[i] = body(i, worker) }
            }
        }
        return results.map { $0! }
    }

    /// A parsed row mapped to records (normalised), each serialised and hashed: pure, any thread.
    static func prepare(_ parsed: Result<SourceRow, RowError>, format: RowFormat?, normalise: @escaping (String) -> String,
                        settings: DatasetSettings) -> PreparedRow {
        var records: [DatasetRecord] = []
        var fromTextLine = false
        switch parsed {
        case .failure(let error): return .failure(error)
        case .success(.line(let raw, let label)):
            let text = normalise(raw)
            if text.isEmpty { return .emptyLine }
            records = [label.map { .labelled(LabelledRecord(text: text, label: $0)) } ?? .text(text)]
            fromTextLine = true
        case .success(.json(let value)):
            guard let format else { return .failure(RowError(reason: "internal", message: "no row format")) }
            do throws(RowError) {
                records = try RowMapper(kind: settings.kind, format: format, columns: settings.columns, normalise: normalise).records(value)
            } catch {
                return .failure(error)
            }
        }
        return .records(records.map { record in
            let line = record.jsonBytes
            return PreparedRecord(lengths: mainTexts(record, settings: settings).map(\.count), fieldNames: Array(record.fields.keys),
                                  line: line, split: settings.split(ofKey: splitKey(record)),
                                  orderDigest: SplitBuckets.orderDigest(orderKey(record, line: line)))
        }, fromTextLine: fromTextLine)
    }

    static func mainFieldNames(_ settings: DatasetSettings) -> [String] {
        switch settings.kind {
        case .text, .labelled: return ["text"]
        case .promptCompletion: return ["completion"]
        case .preference: return ["chosen", "rejected"]
        case .prompt: return [settings.columns.prompt]
        }
    }

    static func mainTexts(_ record: DatasetRecord, settings: DatasetSettings) -> [String] {
        switch record {
        case .text(let s): return [s]
        case .labelled(let r): return [r.text]
        case .promptCompletion(let r): return [r.completion]
        case .preference(let r): return [r.chosen, r.rejected]
        case .prompt(let fields, let messages):
            return [fields[settings.columns.prompt]?.text ?? messages?.last?.content ?? ""]
        }
    }

    /// What decides a record's split: its text, or its prompt side, so that every completion or
    /// pair of one prompt lands in the same split.
    static func splitKey(_ record: DatasetRecord) -> [UInt8] {
        var key: [UInt8] = []
        switch record {
        case .text(let s): key.append(contentsOf: s.utf8)
        case .labelled(let r): key.append(contentsOf: r.text.utf8)
        case .promptCompletion(let r):
            DatasetRecord.appendFields(r.fields, to: &key)
            if let messages = r.messages { DatasetRecord.appendMessages(messages, to: &key) }
        case .preference(let r):
            DatasetRecord.appendFields(r.fields, to: &key)
            if let messages = r.messages { DatasetRecord.appendMessages(messages, to: &key) }
        case .prompt(let fields, let messages):
            DatasetRecord.appendFields(fields, to: &key)
            if let messages { DatasetRecord.appendMessages(messages, to: &key) }
        }
        return key
    }

    /// What decides a record's position and its duplicates: a labelled record's text (the same
    /// text with two labels is dropped as conflicting), else the whole record.
    static func orderKey(_ record: DatasetRecord, line: [UInt8]) -> [UInt8] {
        if case .labelled(let r) = record { return Array(r.text.utf8) }
        return line
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    static func sha256(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw StageError.failed("\(path): cannot read") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalize().hex
    }
}

extension DatasetImport.SourceFile {
    /// The file as messages name it: under the source's name when known (`data/prefs/a.jsonl`).
    func displayName(sourceName: String?, source: String) -> String {
        guard path != source else { return sourceName ?? path }
        return (sourceName ?? source) + "/" + relative
    }
}
