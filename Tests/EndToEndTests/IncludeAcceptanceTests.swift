import Commands
import Foundation
import Hashing
import Store
import Testing
import WorkspaceTestSupport

/// A pipeline that takes stages from another file by `include:`, through the real `pipe` binary: the
/// included stages run, cache and rerun like the file's own, and what a run records of the pipeline
/// (its sha256 in `pipe show`) covers the included file.
@Suite("pipe run: include")
struct IncludeAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    static let base = """
        name: base
        stages:
          greet: { run: "echo hello > ${outs.text}", outs: [text] }

        """

    static let top = """
        name: top
        include: shared/base.yaml
        stages:
          shout: { run: "tr a-z A-Z < ${inputs.text} > ${outs.loud}", inputs: { text: greet.text }, outs: [loud] }

        """

    /// `pipe show`'s sha256 prefix of the latest run.
    func recordedDigest(_ workspace: TestWorkspace) throws -> String {
        let show = try pipe.run(["show", "latest"], in: workspace.root)
        let line = try #require(show.stdout.split(separator: "\n").first { $0.hasPrefix("pipeline ") }, "\(show)")
        return String(try #require(line.split(separator: " ").last))
    }

    func expectedDigest(_ workspace: TestWorkspace) throws -> String {
        var bytes: [UInt8] = []
        for file in ["pipelines/top.yaml", "pipelines/shared/base.yaml"] {
            bytes += file.utf8
            bytes.append(0)
            bytes += SHA256.hash(Array(try Data(contentsOf: URL(fileURLWithPath: workspace.path(file))))).bytes
        }
        return SHA256.hash(bytes).short
    }

    @Test func includedStagesRunCacheAndRerunAndTheRecordCoversTheIncludedFile() throws {
        let workspace = try TestWorkspace("pipe-e2e-include")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/shared/base.yaml", Self.base)
        try workspace.write("pipelines/top.yaml", Self.top)

        let first = try pipe.run(["run", "pipelines/top.yaml", "-j", "1"], in: workspace.root)
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout.contains("greet: ran") && first.stdout.contains("shout: ran"), "\(first)")
        let firstDigest = try recordedDigest(workspace)
        #expect(try firstDigest == expectedDigest(workspace))

        // A comment in the included file changes no key, but the recorded pipeline digest.
        try workspace.write("pipelines/shared/base.yaml", Self.base + "# a comment\n")
        let second = try pipe.run(["run", "pipelines/top.yaml", "-j", "1"], in: workspace.root)
        #expect(second.status == 0 && second.stdout.contains("2 cached"), "\(second)")
        let secondDigest = try recordedDigest(workspace)
        let expected = try expectedDigest(workspace)
        #expect(secondDigest != firstDigest && secondDigest == expected)

        // A changed command in the included file reruns its stage and the stage below it.
        try workspace.write("pipelines/shared/base.yaml", Self.base.replacingOccurrences(of: "hello", with: "goodbye"))
        let status = try pipe.run(["status", "pipelines/top.yaml"], in: workspace.root)
        #expect(status.stdout.contains("greet  must run: command changed"), "\(status)")
        let third = try pipe.run(["run", "pipelines/top.yaml", "-j", "1"], in: workspace.root)
        #expect(third.status == 0 && third.stdout.contains("greet: ran") && third.stdout.contains("shout: ran"), "\(third)")
    }

    @Test func showListsTheIncludedFilesAndSaysWhenTheyChangedSinceTheRun() throws {
        let workspace = try TestWorkspace("pipe-e2e-include-show")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/shared/base.yaml", Self.base)
        try workspace.write("pipelines/top.yaml", Self.top)
        #expect(try pipe.run(["run", "pipelines/top.yaml", "-j", "1"], in: workspace.root).status == 0)

        let show = try pipe.run(["show", "latest"], in: workspace.root)
        #expect(show.status == 0, "\(show)")
        #expect(show.stdout.contains("\nincludes  pipelines/shared/base.yaml\n"), "\(show)")

        try workspace.write("pipelines/shared/base.yaml", Self.base + "# a comment\n")
        let changed = try pipe.run(["show", "latest"], in: workspace.root)
        #expect(changed.stdout.contains("\nincludes  pipelines/shared/base.yaml  (as they are now: the pipeline's files changed since this run)\n"), "\(changed)")
    }
}
