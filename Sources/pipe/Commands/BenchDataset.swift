import ArgumentParser
import Foundation
import Pipeline
import StageHost
import Stages

/// `pipe bench dataset`: the `dataset` stage's import of generated Alpaca rows — seconds and peak
/// resident memory at 10× different file sizes (memory must stay flat: the import streams).
struct BenchDataset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Import time and peak memory of the dataset stage on generated Alpaca JSONL (100k rows; 10 MB vs 100 MB).")

    @Option(help: "Directory for the generated files (kept, so a second run skips generating).")
    var directory = NSTemporaryDirectory() + "pipe-bench-dataset"

    func run() throws {
        let say = { (line: String) in print(line); fflush(nil) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let declared = try DeclaredParams.defaults(kind: "dataset", workspace: Workspace(root: FileManager.default.currentDirectoryPath))
        let settings = try DatasetSettings(declared)
        say("pipe bench dataset — prompt-completion (alpaca), valid/test 5% each, whitespace keep; files in \(directory)")
        _ = try DatasetBenchmark.run(directory: directory,
                                     sizes: [(100_000, 300), (10_000, 1_200), (100_000, 1_200)], settings: settings, say: say)
    }
}
