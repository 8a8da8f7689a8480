import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// Parquet files, Arrow files, folders of shards and `save_to_disk` folders import into the very
/// artifact the JSON Lines of the same rows gives: the same split files byte for byte, the same
/// fields and stats (the fixtures: scripts/make-columnar-fixtures.py).
@Suite("dataset stage: Parquet and Arrow sources")
struct DatasetColumnarImportTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/columnar").path

    /// Imports `source`; returns the output folder, the stats and the log lines.
    static func importing(_ source: String, name: String, _ params: [String: StageParamValue]) throws -> (String, DatasetStats, [String]) {
        let root = try DirectoryStageContext.temporaryDirectory("dataset-columnar")
        try FileManager.default.createDirectory(atPath: root + "/data", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/scratch", withIntermediateDirectories: true)
        var lines: [String] = []
        let stats = try DatasetImport.run(source: source, sourceName: name, settings: try DatasetFixture.settings(params),
                                          output: root + "/data", scratch: root + "/scratch", log: { lines.append($0) })
        return (root + "/data", stats, lines)
    }

    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Same split files, byte for byte; same manifest apart from the source files; same stats.
    static func expectSameArtifact(_ a: String, _ b: String, _ what: String) throws {
        let ra = try DatasetReader(directory: a), rb = try DatasetReader(directory: b)
        #expect(ra.splits == rb.splits, "\(what)")
        for split in ra.splits {
            #expect(try bytes(a + "/" + split + ".jsonl") == (try bytes(b + "/" + split + ".jsonl")), "\(what): \(split).jsonl")
        }
        #expect(ra.manifest.fields == rb.manifest.fields, "\(what)")
        #expect(try bytes(a + "/stats.json") == (try bytes(b + "/stats.json")), "\(what): stats.json")
    }

    static let kinds: [[String: StageParamValue]] = [
        ["kind": .string("preference")],
        ["kind": .string("prompt"), "prompt_column": .string("prompt")],
        ["kind": .string("prompt-completion"), "completion_column": .string("chosen")],
    ]

    @Test(arguments: ["conv-snappy-dict-v1.parquet", "conv-plain-v2-uncompressed.parquet", "conv-gzip-v2.parquet", "conv-zstd-v1.parquet",
                      "conv-datasets.parquet", "conv-stream.arrow", "conv-file.arrow", "conv-stream-zstd.arrow"])
    func aColumnarFileImportsAsItsJSONLines(file: String) throws {
        for params in Self.kinds {
            let (json, jsonStats, _) = try Self.importing(Self.fixtures + "/conversations.jsonl", name: "data/conversations.jsonl", params)
            let (columnar, stats, _) = try Self.importing(Self.fixtures + "/" + file, name: "data/" + file, params)
            #expect(stats.rows == 40 && stats.kept == jsonStats.kept && stats.kept > 30, "\(file) \(params)")
            try Self.expectSameArtifact(columnar, json, "\(file) \(params)")
            #expect(try DatasetReader(directory: columnar).manifest.sources.map(\.path) == [file])
        }
    }

    /// CSV and TSV import as their `from_csv(...).to_json(...)` export.
    @Test(arguments: [("flat.csv", "flat-from-csv.jsonl"), ("flat.tsv", "flat-from-tsv.jsonl")])
    func aCSVFileImportsAsItsFromCSVExport(file: String, export: String) throws {
        // Its "" and "NA" prompts are null, as from_csv reads them: those rows are skipped alike.
        let params: [String: StageParamValue] = ["kind": .string("prompt-completion"), "skip_invalid": .bool(true)]
        let (json, _, _) = try Self.importing(Self.fixtures + "/" + export, name: "data/" + export, params)
        let (csv, stats, _) = try Self.importing(Self.fixtures + "/" + file, name: "data/" + file, params)
        #expect(stats.rows == 30 && stats.kept > 15 && stats.invalid["missing_field", default: 0] > 0)
        try Self.expectSameArtifact(csv, json, file)
    }

    @Test func aSaveToDiskFolderImportsItsShardsInStateOrder() throws {
        let (json, _, _) = try Self.importing(Self.fixtures + "/conversations.jsonl", name: "data/c.jsonl", Self.kinds[0])
        let (saved, _, _) = try Self.importing(Self.fixtures + "/saved-dataset", name: "data/saved", Self.kinds[0])
        try Self.expectSameArtifact(saved, json, "saved-dataset")
        #expect(try DatasetReader(directory: saved).manifest.sources.map(\.path) == ["data-00000-of-00002.arrow", "data-00001-of-00002.arrow"])
    }

    @Test func aDatasetDictImportsItsTrainSplitAndSaysSo() throws {
        let (json, _, _) = try Self.importing(Self.fixtures + "/conversations-train.jsonl", name: "data/c.jsonl", Self.kinds[0])
        let (saved, _, log) = try Self.importing(Self.fixtures + "/saved-dict", name: "data/prefs", Self.kinds[0])
        try Self.expectSameArtifact(saved, json, "saved-dict")
        #expect(try DatasetReader(directory: saved).manifest.sources.map(\.path) == ["train/data-00000-of-00001.arrow"])
        #expect(log.contains("data/prefs: a DatasetDict (splits train, test); importing its train split (to import another, point the source at its folder)"))
    }

    /// Shards in a plain folder: read in name order, like JSON shards, mixed with them.
    @Test func aFolderOfShardsReadsInNameOrder() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("dataset-shards")
        try FileManager.default.copyItem(atPath: Self.fixtures + "/saved-dataset/data-00000-of-00002.arrow", toPath: dir + "/a.arrow")
        let second = try String(contentsOfFile: Self.fixtures + "/conversations.jsonl", encoding: .utf8).split(separator: "\n").dropFirst(20)
        try (second.joined(separator: "\n") + "\n").write(toFile: dir + "/b.jsonl", atomically: true, encoding: .utf8)
        let (json, _, _) = try Self.importing(Self.fixtures + "/conversations.jsonl", name: "data/c.jsonl", Self.kinds[0])
        let (shards, _, _) = try Self.importing(dir, name: "data/shards", Self.kinds[0])
        try Self.expectSameArtifact(shards, json, "shards")
    }

    static func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "" } catch { return "\(error)" }
    }

    @Test func damagedAndRefusedFilesAreNamed() throws {
        let dir = try DatasetTRLShapesTests.folder(["cut.parquet": Array("PAR1".utf8), "x.parquet": Array("{}".utf8)])
        #expect(Self.message { try Self.importing(dir + "/cut.parquet", name: "data/cut.parquet", Self.kinds[0]) }
            == "data/cut.parquet: corrupt Parquet file: cut short (4 bytes, no footer)")
        #expect(Self.message { try Self.importing(Self.fixtures + "/refuse-timestamp.parquet", name: "data/t.parquet", Self.kinds[0]) }
            == #"data/t.parquet: column "t" has logical type TIMESTAMP, which is not read; cast it to a string or a number before saving"#)
        #expect(Self.message { try Self.importing(dir, name: "data/two", Self.kinds[0]) }
            == "data/two/cut.parquet: corrupt Parquet file: cut short (4 bytes, no footer)")
        let csv = try DatasetTRLShapesTests.folder(["bad.csv": Array("prompt,chosen\n\"a,b\n".utf8)])
        #expect(Self.message { try Self.importing(csv + "/bad.csv", name: "data/bad.csv", Self.kinds[0]) }
            == "data/bad.csv: corrupt CSV file: the quoted field that starts on line 2 is not closed")
    }

    /// A row that does not map names its row (rows count from 1).
    @Test func aBadRowNamesItsRow() throws {
        #expect(Self.message { try Self.importing(Self.fixtures + "/types-stream.arrow", name: "data/t.arrow", ["kind": .string("text")]) }
            == #"data/t.arrow row 1: field "text": missing (map another column with text_column, or set skip_invalid: true to skip such rows)"#)
    }

    @Test func aFolderWithNoDataFilesNamesWhatItReads() throws {
        let dir = try DatasetTRLShapesTests.folder(["notes.md": Array("# x\n".utf8)])
        #expect(Self.message { try Self.importing(dir, name: "data/empty", Self.kinds[0]) }
            == "input 'source': no .jsonl, .json, .parquet, .arrow, .csv, .tsv files in data/empty")
        #expect(Self.message { try Self.importing(dir, name: "data/empty", ["kind": .string("text")]) }
            == "input 'source': no .jsonl, .json, .parquet, .arrow, .csv, .tsv, .txt files in data/empty")
        #expect(Self.message { try Self.importing(dir, name: "data/empty", ["kind": .string("labelled")]) }
            == "input 'source': no .jsonl, .json, .parquet, .arrow, .csv, .tsv files or pos.txt / neg.txt in data/empty")
    }

    @Test func saveToDiskFoldersThatAreNotWholeAreNamed() throws {
        let noFiles = try DatasetTRLShapesTests.folder(["x.arrow": [], "dataset_info.json": Array("{}".utf8), "state.json": Array("{}".utf8)])
        #expect(Self.message { try Self.importing(noFiles, name: "data/prefs", [:]) }
            == #"input 'source': data/prefs/state.json: no "_data_files" list (not written by save_to_disk?)"#)
        let missing = try DatasetTRLShapesTests.folder(["x.arrow": [], "state.json": Array(#"{"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}"#.utf8)])
        #expect(Self.message { try Self.importing(missing, name: "data/prefs", [:]) }
            == #"input 'source': data/prefs/state.json: a "_data_files" entry names no file of the folder (data-00000-of-00001.arrow)"#)
        let dict = try DatasetTRLShapesTests.folder(["dataset_dict.json": Array(#"{"splits": ["a", "b"]}"#.utf8)], directories: ["a", "b"])
        #expect(Self.message { try Self.importing(dict, name: "data/prefs", [:]) }
            == "input 'source': data/prefs: a DatasetDict saved with save_to_disk has no train split (its splits: a, b); point the source at one split's folder, e.g. data/prefs/a")
        let bare = try DatasetTRLShapesTests.folder(["dataset_dict.json": Array(#"{"splits": ["train"]}"#.utf8)], directories: ["train"])
        #expect(Self.message { try Self.importing(bare, name: "data/prefs", [:]) }
            == "input 'source': data/prefs/train: no state.json (not a split saved with save_to_disk)")
        let broken = try DatasetTRLShapesTests.folder(["dataset_dict.json": Array("{".utf8)])
        #expect(Self.message { try Self.importing(broken, name: "data/prefs", [:]).1 }.hasPrefix("input 'source': data/prefs/dataset_dict.json: not JSON ("))
    }
}
