import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// The same rows saved every way `datasets` and pyarrow save them (`to_parquet`, each codec and page
/// version, no dictionary, small row groups and pages, Arrow stream, file and ZSTD, `save_to_disk` of a
/// Dataset and of a DatasetDict) import into exactly the artifact their `to_json` output gives.
/// Runs when $PIPE_TORCH_PYTHON names a Python with `datasets` and `pyarrow` (columnar_live.py).
@Suite("dataset stage: every way datasets saves rows (live)")
struct DatasetColumnarLiveTests {
    static let python = ProcessInfo.processInfo.environment["PIPE_TORCH_PYTHON"]
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("columnar_live.py").path

    /// An import error with its file name dropped and its line or row as `row N`.
    static func reason(_ error: Error) -> String {
        let text = "\(error)"
        let pattern = try! NSRegularExpression(pattern: #"^\S*?(?::| row )(\d+): "#)
        return pattern.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "row $1: ")
    }

    @Test(.enabled(if: python != nil, "set PIPE_TORCH_PYTHON to a Python with datasets + pyarrow to run"))
    func everySavedFormImportsAsToJSON() throws {
        let out = try DirectoryStageContext.temporaryDirectory("columnar-live")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python!)
        process.arguments = [Self.script, out + "/shapes"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "columnar_live.py failed: pip install datasets pyarrow into \(Self.python!)")
        let listing = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/shapes/shapes.json"))) as! [String: [String]]
        var compared = 0
        for (shape, kinds) in listing.sorted(by: { $0.key < $1.key }) {
            let dir = out + "/shapes/" + shape
            let variants = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0 != "to_json.jsonl" }.sorted()
            for kind in kinds {
                let params: [String: StageParamValue] = ["kind": .string(kind)]
                let json = Result { try DatasetColumnarImportTests.importing(dir + "/to_json.jsonl", name: "to_json.jsonl", params) }
                for variant in variants {
                    let what = "\(shape)/\(variant) as \(kind)"
                    let imported = Result { try DatasetColumnarImportTests.importing(dir + "/" + variant, name: variant, params) }
                    switch (json, imported) {
                    case (.success(let a), .success(let b)):
                        // A DatasetDict imports its train split, which holds every row here.
                        try DatasetColumnarImportTests.expectSameArtifact(b.0, a.0, what)
                        compared += 1
                    case (.failure(let a), .failure(let b)):
                        // The same row fails for the same reason: `to_json.jsonl:3: ...` and `stream.arrow row 3: ...`.
                        #expect(Self.reason(a) == Self.reason(b), "\(what)")
                    case (.success, .failure(let error)):
                        Issue.record("\(what): to_json imports, this fails: \(error)")
                    case (.failure(let error), .success):
                        Issue.record("\(what): this imports, to_json fails: \(error)")
                    }
                }
            }
        }
        #expect(compared > 150)
        // CSV and TSV against their own from_csv exports.
        var csvCompared = 0
        for (shape, kinds) in listing.sorted(by: { $0.key < $1.key }) {
            let dir = out + "/shapes/csv/" + shape
            for kind in kinds {
                let params: [String: StageParamValue] = ["kind": .string(kind)]
                for (file, export) in [("to_csv.csv", "from_csv.jsonl"), ("to_csv.tsv", "from_tsv.jsonl")] {
                    let what = "\(shape)/\(file) as \(kind)"
                    let json = Result { try DatasetColumnarImportTests.importing(dir + "/" + export, name: export, params) }
                    let imported = Result { try DatasetColumnarImportTests.importing(dir + "/" + file, name: file, params) }
                    switch (json, imported) {
                    case (.success(let a), .success(let b)):
                        try DatasetColumnarImportTests.expectSameArtifact(b.0, a.0, what)
                        csvCompared += 1
                    case (.failure, .failure(let b)) where "\(b)".contains("a list of messages written as Python text"):
                        break  // pipe names the Python text before the row mapping would
                    case (.failure(let a), .failure(let b)): #expect(Self.reason(a) == Self.reason(b), "\(what)")
                    case (.success, .failure(let error)) where "\(error)".contains("a list of messages written as Python text"):
                        break  // the export imports the Python text as strings; pipe refuses it
                    case (.success, .failure(let error)): Issue.record("\(what): its from_csv export imports, this fails: \(error)")
                    case (.failure(let error), .success): Issue.record("\(what): this imports, its from_csv export fails: \(error)")
                    }
                }
            }
        }
        #expect(csvCompared >= 10)
    }
}
