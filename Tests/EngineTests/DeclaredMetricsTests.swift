import Foundation
import Testing
import WorkspaceTestSupport
@testable import Engine
@testable import Pipeline

@Suite("Metrics files declared by command stages")
struct DeclaredMetricsTests {
    func stage(_ files: [MetricsFile]) -> ResolvedStage {
        ResolvedStage(name: "train", kind: "run", implementation: .command("true"), implementationVersion: 1, params: [],
                      inputs: [], outputs: ["m.json", "report"], metricsFiles: files, deps: [], resources: Resources(),
                      location: SourceLocation(file: "p.yaml", line: 1, column: 1), declarationFile: nil)
    }

    @Test func jsonAndYAMLAreFlattenedSortedAndNonNumbersNoted() throws {
        let dir = try TestWorkspace.temporaryDirectory("pipe-declared-metrics")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(#"{"z": 1, "eval": {"acc": 0.5, "f1": {"macro": 2e-3}, "name": "x"}, "list": [1, 2], "ok": true, "none": null}"#.utf8)
            .write(to: URL(fileURLWithPath: dir + "/m.json"))
        try FileManager.default.createDirectory(atPath: dir + "/report", withIntermediateDirectories: true)
        try Data("z: 3\nbleu: .5\nbig: 12\nweird: .nan\nquoted: \"7\"\nnested:\n  deeper: { x: -1.5e+2 }\n".utf8)
            .write(to: URL(fileURLWithPath: dir + "/report/scores.yaml"))
        let files = [MetricsFile(path: "m.json", output: "m.json", pathInOutput: nil, format: .json),
                     MetricsFile(path: "report/scores.yaml", output: "report", pathInOutput: "scores.yaml", format: .yaml)]
        let reading = try DeclaredMetrics.read(stage(files), outputPaths: ["m.json": dir + "/m.json", "report": dir + "/report"]).get()
        #expect(reading.values.map(\.name) == ["big", "bleu", "eval.acc", "eval.f1.macro", "nested.deeper.x", "z"])
        #expect(reading.values.map(\.value) == [12, 0.5, 0.5, 0.002, -150, 3])
        #expect(reading.notes == [
            "note: m.json: ignored 'eval.name' (string \"x\", not a number)",
            "note: m.json: ignored 'list' (a list, not a number; report per-step series through $PIPE_EVENTS)",
            "note: m.json: ignored 'none' (null, not a number)",
            "note: m.json: ignored 'ok' (bool true, not a number)",
            "note: metric 'z' is in more than one metrics file: the value from report/scores.yaml is kept",
            "note: report/scores.yaml: ignored 'quoted' (string \"7\", not a number)",
            "note: report/scores.yaml: ignored 'weird' (nan is not a finite number)",
        ])
    }

    @Test func missingEmptyMalformedAndNonMappingFilesAreStageFailures() throws {
        let dir = try TestWorkspace.temporaryDirectory("pipe-declared-metrics-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let json = MetricsFile(path: "m.json", output: "m.json", pathInOutput: nil, format: .json)
        let yaml = MetricsFile(path: "report/s.yml", output: "report", pathInOutput: "s.yml", format: .yaml)
        func failure(_ file: MetricsFile, _ text: String?) throws -> String {
            let path = dir + "/" + file.path
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if let text { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }
            guard case .failure(let error) = DeclaredMetrics.read(file, at: path, stage: "train") else { return "no failure" }
            return error.description
        }
        #expect(try failure(json, nil) == "stage 'train': metrics file 'm.json' was not written (declared in metrics:, the command must write it at ${outs.m.json})")
        #expect(try failure(yaml, nil) == "stage 'train': metrics file 'report/s.yml' was not written (declared in metrics:, the command must write it at ${outs.report}/s.yml)")
        #expect(try failure(json, "  \n") == "stage 'train': metrics file 'm.json' is not valid JSON: the file is empty")
        #expect(try failure(json, "{\"a\": 1,\n \"b\": x}") == "stage 'train': metrics file 'm.json' is not valid JSON: line 2, column 7: unexpected character 'x' (expected a value)")
        #expect(try failure(json, "{\"loss\": 1,\n \"loss\": 2}") == "stage 'train': metrics file 'm.json' is not valid JSON: line 2, column 2: duplicate key \"loss\"")
        #expect(try failure(json, "{\"a\": Nan}") == "stage 'train': metrics file 'm.json' is not valid JSON: line 1, column 7: invalid literal (expected NaN)")
        // Python's json.dump writes a NaN loss as NaN: noted and left out, like YAML's .nan.
        try Data("{\"loss\": NaN, \"acc\": 0.5}".utf8).write(to: URL(fileURLWithPath: dir + "/m.json"))
        let nan = try DeclaredMetrics.read(json, at: dir + "/m.json", stage: "train").get()
        #expect(nan.values.map(\.name) == ["acc"] && nan.notes == ["note: m.json: ignored 'loss' (nan is not a finite number)"])
        #expect(try failure(json, "[1, 2]") == "stage 'train': metrics file 'm.json' must hold a mapping of metric names to numbers (e.g. {\"accuracy\": 0.91}), found a list")
        #expect(try failure(json, "3") == "stage 'train': metrics file 'm.json' must hold a mapping of metric names to numbers (e.g. {\"accuracy\": 0.91}), found a number")
        #expect(try failure(yaml, "a: [1\n") == "stage 'train': metrics file 'report/s.yml' is not valid YAML: report/s.yml:2:1: error: YAML syntax: did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 4)")
        #expect(try failure(yaml, "") == "stage 'train': metrics file 'report/s.yml' must hold a mapping of metric names to numbers (e.g. {\"accuracy\": 0.91}), found an empty file")
    }
}
