@testable import Engine
import Foundation
import Hashing
import Pipeline
import Store
import Testing
import WorkspaceTestSupport

/// Workspace files and folders as stage inputs: hashed by content into the key, read from a copy
/// ingested into the store.
@Suite("Path inputs")
struct PathInputTests {
    static func pipeline(source: String) -> String {
        """
        name: paths
        stages:
          copy: { run: "cat ${inputs.src}/a.txt ${inputs.src}/sub/b.txt > ${outs.o}; echo ${inputs.src} > ${outs.where}", inputs: { src: \(source) }, outs: [o, where] }
          tail: { run: "cat ${inputs.x} > ${outs.o}", inputs: { x: copy.o }, outs: [o] }

        """
    }

    func run(_ workspace: TestWorkspace, source: String) throws -> RunReport {
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/p.yaml", Self.pipeline(source: source))
        let pipeline = try PipelineLoader.load(file: workspace.path("pipelines/p.yaml"))
        let store = try ArtifactStore(root: workspace.path("artifacts"))
        return RunSession(pipeline: pipeline, store: store, executor: RecordingExecutor(), display: RecordingDisplay(),
                          options: RunOptions(jobs: 1, runtime: .commandsOnly)).run()
    }

    @Test func contentNotLocationDecidesTheKey() throws {
        let workspace = try TestWorkspace("pipe-path-inputs")
        defer { workspace.remove() }
        try workspace.write("data/reviews/a.txt", "alpha\n")
        try workspace.write("data/reviews/sub/b.txt", "beta\n")

        let first = try run(workspace, source: "./data/reviews")
        guard case .ran(let key, _)? = first.outcomes["copy"] else { Issue.record("\(first.outcomes)"); return }
        let store = try ArtifactStore(root: workspace.path("artifacts"))
        let record = try #require(first.records["copy"])
        // The local executor measured the stage's CPU time into its record (cost accounting, not key material).
        #expect(try #require(store.record(forKey: record.key)).cpuSeconds.map { $0 >= 0 && $0 < 10 } == true)
        #expect(try String(contentsOfFile: store.objectPath(record.outputs["o"]!), encoding: .utf8) == "alpha\nbeta\n")
        // The stage read the store's copy, not the workspace folder.
        let seen = try String(contentsOfFile: store.objectPath(record.outputs["where"]!), encoding: .utf8)
        let inputDigest = try #require(first.materials["copy"]?.inputs.first { $0.name == "src" }?.digest)
        #expect(seen == store.objectPath(inputDigest) + "\n")
        #expect(inputDigest == (try store.digest(ofPath: workspace.path("data/reviews"))))
        #expect(first.materials["copy"]?.inputs.first?.source == "./data/reviews")

        // Unchanged: cached.
        #expect(try run(workspace, source: "./data/reviews").outcomes["copy"] == .cached(key: key))
        // The same bytes elsewhere (another folder name, a trailing slash): the same key.
        try workspace.write("elsewhere/copy/a.txt", "alpha\n")
        try workspace.write("elsewhere/copy/sub/b.txt", "beta\n")
        #expect(try run(workspace, source: "./elsewhere/copy/").outcomes["copy"] == .cached(key: key))

        // One byte changed: a new key, and the stage sees the new bytes.
        try workspace.write("data/reviews/sub/b.txt", "betA\n")
        let changed = try run(workspace, source: "./data/reviews")
        guard case .ran(let newKey, _)? = changed.outcomes["copy"] else { Issue.record("\(changed.outcomes)"); return }
        #expect(newKey != key)
        #expect(try String(contentsOfFile: store.objectPath(changed.records["copy"]!.outputs["o"]!), encoding: .utf8) == "alpha\nbetA\n")
        #expect(changed.outcomes["tail"].map { if case .ran = $0 { true } else { false } } == true)
    }

    @Test func aSingleFileInputAndItsKeyMaterial() throws {
        let workspace = try TestWorkspace("pipe-path-inputs-file")
        defer { workspace.remove() }
        try workspace.write("data/x.jsonl", "{\"a\":1}\n")
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/p.yaml", """
        name: one
        stages:
          c: { run: "wc -c < ${inputs.f} > ${outs.o}", inputs: { f: ./data/x.jsonl }, outs: [o] }

        """)
        let pipeline = try PipelineLoader.load(file: workspace.path("pipelines/p.yaml"))
        let stage = try #require(pipeline.stages.first)
        #expect(stage.inputs.isEmpty)
        #expect(stage.pathInputs == [PathInput(name: "f", path: "data/x.jsonl", location: stage.pathInputs[0].location)])
        #expect(stage.upstreamStages.isEmpty)
        let digest = SHA256.hash("x")
        let material = stage.keyMaterial(inputDigests: ["f": digest], depDigests: [:], environment: [:], seed: 0)
        #expect(material.inputs == [KeyMaterial.Input(name: "f", digest: digest, source: "./data/x.jsonl")])
        let store = try ArtifactStore(root: workspace.path("artifacts"))
        let report = RunSession(pipeline: pipeline, store: store, executor: RecordingExecutor(), display: RecordingDisplay(),
                                options: RunOptions(jobs: 1, runtime: .commandsOnly)).run()
        let record = try #require(report.records["c"])
        #expect(try String(contentsOfFile: store.objectPath(record.outputs["o"]!), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == "8")
        // The workspace file is untouched (still writable: the store sealed its own copy).
        #expect(FileManager.default.isWritableFile(atPath: workspace.path("data/x.jsonl")))
    }
}
