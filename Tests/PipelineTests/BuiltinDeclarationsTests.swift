import Foundation
import Testing
@testable import Pipeline

/// The built-in declarations pipe carries: the same bytes as the repository's `stages/`, used when a
/// workspace has no file of its own.
@Suite struct BuiltinDeclarationsTests {
    static var repositoryStages: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/stages"
    }

    @Test func carriedCopyEqualsTheRepositoryFiles() throws {
        var onDisk: [String: String] = [:]
        for directory in ["", "shared/"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: Self.repositoryStages + "/" + directory) where name.hasSuffix(".yaml") {
                onDisk[directory + name] = try String(contentsOfFile: Self.repositoryStages + "/" + directory + name, encoding: .utf8)
            }
        }
        #expect(onDisk.count >= 10)
        for (path, text) in onDisk.sorted(by: { $0.key < $1.key }) {
            #expect(BuiltinDeclarations.files[path] == text, "stages/\(path) changed: run python3 scripts/embed-declarations.py")
        }
        #expect(Set(BuiltinDeclarations.files.keys) == Set(onDisk.keys), "run python3 scripts/embed-declarations.py")
    }

    @Test func aPipelineOutsideAnyWorkspaceUsesTheBuiltInKinds() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).resolvingSymlinksInPath().path + "/pipe-nows-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"prompt": "a", "completion": "b"}"#.write(toFile: dir + "/data/rows.jsonl", atomically: true, encoding: .utf8)
        try """
        name: mine
        stages:
          rows: { uses: dataset, inputs: { source: ./data/rows.jsonl }, with: { kind: prompt-completion } }
          bad:  { uses: sftt }
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        #expect(try Workspace.locate(pipelineFile: dir + "/p.yaml").root == dir)
        do {
            _ = try PipelineLoader.load(file: dir + "/p.yaml")
            Issue.record("expected the unknown kind to be reported")
        } catch {
            // Only the misspelt kind fails; the suggestion comes from the built-in kinds.
            #expect(error.description.contains("stage 'bad': unknown kind 'sftt'"))
            #expect(error.description.contains("did you mean 'sft'?"))
            #expect(!error.description.contains("'rows'"))
        }
        try "name: mine\nstages:\n  rows: { uses: dataset, inputs: { source: ./data/rows.jsonl } }\n"
            .write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let pipeline = try PipelineLoader.load(file: dir + "/p.yaml")
        #expect(pipeline.stages.map(\.name) == ["rows"])
        #expect(Workspace.pathInWorkspace(ofFile: dir + "/p.yaml") == "p.yaml")
    }

    @Test func pipeConfigMarksTheWorkspaceRoot() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).resolvingSymlinksInPath().path + "/pipe-cfg-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir + "/pipelines", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "remotes: {}\n".write(toFile: dir + "/pipe.config.yaml", atomically: true, encoding: .utf8)
        try "name: x\nstages:\n  a: { run: 'true' }\n".write(toFile: dir + "/pipelines/p.yaml", atomically: true, encoding: .utf8)
        #expect(try Workspace.locate(pipelineFile: dir + "/pipelines/p.yaml").root == dir)
        #expect(Workspace.pathInWorkspace(ofFile: dir + "/pipelines/p.yaml") == "pipelines/p.yaml")
    }

    @Test func theWorkspacesOwnDeclarationWins() throws {
        let ws = try TempWorkspace([:])
        try ws.write("stages/dataset.yaml", "kind: dataset\nversion: 7\nbuiltin: dataset\noutputs: { data: {} }\n")
        let own = try ws.workspace.loadDeclaration(kind: "dataset")
        #expect(own.version == 7)
        let builtin = try ws.workspace.loadDeclaration(kind: "tokenise")
        #expect(builtin.file == "stages/tokenise.yaml (built into pipe)")
        #expect(ws.workspace.declaredKinds().contains("ppo"))
    }
}
