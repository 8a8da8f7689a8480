import Foundation
import Testing
import WorkspaceTestSupport

/// A pipeline whose `dataset` stages read workspace files directly (`source: ./data/...`), through
/// the real `pipe` binary: import, cache, a one-byte change, a bad row, and reproduction.
@Suite("dataset stage end to end", .serialized)
struct DatasetPipelineTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    static let pipelineText = """
        name: data
        seed: 1
        stages:
          instructions:
            uses: dataset
            inputs: { source: ./data/alpaca.json }
            with: { kind: prompt-completion, valid_fraction: 0.1, test_fraction: 0.1 }
          prefs:
            uses: dataset
            inputs: { source: ./data/prefs }
            with: { kind: preference, skip_invalid: true }

        """

    static func workspace() throws -> TestWorkspace {
        let workspace = try TestWorkspace("pipe-dataset")
        try FileManager.default.copyItem(atPath: SmokePipelineTests.repositoryRoot + "/stages", toPath: workspace.path("stages"))
        try workspace.write("pipelines/data.yaml", pipelineText)
        let rows = (0..<50).map { #"  {"instruction": "Translate \#($0)", "input": "word \#($0)", "output": "mot \#($0)"}"# }
        try workspace.write("data/alpaca.json", "[\n" + rows.joined(separator: ",\n") + "\n]\n")
        try workspace.write("data/prefs/a.jsonl", #"{"prompt": "Hi", "chosen": "Hello!", "rejected": "Go away."}"# + "\n"
            + #"{"prompt": "Bye", "chosen": 5, "rejected": "x"}"# + "\n")
        try workspace.write("data/prefs/b.jsonl", #"{"prompt": "Q", "responses": ["best", "ok", "bad"]}"# + "\n")
        return workspace
    }

    @Test func importsCachesRekeysOnAByteAndReproduces() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }

        let first = try pipe.run(["run", "pipelines/data.yaml"], in: workspace.root)
        #expect(first.status == 0, "\(first)")
        #expect(first.output.contains("2 ran, 0 cached"), "\(first)")

        let export = try pipe.run(["export", "latest", "instructions", "--to", "out"], in: workspace.root)
        #expect(export.status == 0, "\(export)")
        let manifest = try workspace.read("out/dataset.json")
        #expect(manifest.hasPrefix(#"{"fields":["input","instruction"],"format":"pipe.dataset/1","kind":"prompt-completion","sources":[{"digest":""#), "\(manifest)")
        #expect(manifest.contains(#""path":"alpaca.json"}]"#), "\(manifest)")
        let train = try workspace.read("out/train.jsonl").split(separator: "\n")
        #expect(train.count > 30 && train.count < 50)
        #expect(train.allSatisfy { $0.hasPrefix(#"{"completion":"mot "#) })

        // prefs: each file's shape is detected from its first row (explicit pairs, a ranked list); the bad row
        // is skipped and counted.
        #expect(try pipe.run(["export", "latest", "prefs", "--to", "prefs"], in: workspace.root).status == 0)
        let stats = try workspace.read("prefs/stats.json")
        #expect(stats.contains(#""format":"columns+ranked","invalid":{"wrong_type":1},"kept":4,"#), "\(stats)")

        let second = try pipe.run(["run", "pipelines/data.yaml"], in: workspace.root)
        #expect(second.output.contains("0 ran, 2 cached"), "\(second)")

        // One byte of one source changes that stage's key only.
        var text = try workspace.read("data/alpaca.json")
        text = text.replacingOccurrences(of: "mot 7\"", with: "mot 8\"")
        try workspace.write("data/alpaca.json", text)
        let third = try pipe.run(["run", "pipelines/data.yaml"], in: workspace.root)
        #expect(third.output.contains("1 ran, 1 cached"), "\(third)")

        let reproduce = try pipe.run(["reproduce", "latest"], in: workspace.root)
        #expect(reproduce.status == 0, "\(reproduce)")
        #expect(reproduce.stdout.contains("all 2 stages reproduced bit for bit"), "\(reproduce)")
    }

    @Test func aBadRowFailsTheStageNamingFileLineAndField() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        try workspace.write("pipelines/data.yaml", Self.pipelineText.replacingOccurrences(of: "skip_invalid: true", with: "skip_invalid: false"))
        let run = try pipe.run(["run", "pipelines/data.yaml"], in: workspace.root)
        #expect(run.status != 0, "\(run)")
        #expect(run.output.contains(#"data/prefs/a.jsonl:2: field "chosen": expected a string, found a number (map another column with chosen_column, or set skip_invalid: true to skip such rows)"#), "\(run)")
    }

    @Test func aMissingPathIsADiagnostic() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        try FileManager.default.removeItem(atPath: workspace.path("data/alpaca.json"))
        let status = try pipe.run(["status", "pipelines/data.yaml"], in: workspace.root)
        #expect(status.status != 0)
        #expect(status.stderr.contains("pipelines/data.yaml:6:23: error: stage 'instructions': input 'source': path './data/alpaca.json' does not exist"), "\(status)")
    }
}
