import Foundation
import Testing
import WorkspaceTestSupport

/// A `pipelines/NAME.lock` that is garbage, cut off or a directory: `pipe gc` refuses (it keeps what
/// the lock names, and cannot know what that is) with the file, the problem and the fix, and removes
/// nothing; `pipe run`, `pipe status` and `pipe show` still work, and a run writes a good lock back.
@Suite("damaged lock files")
struct DamagedLockFileTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    static let pipeline = """
    name: p
    stages:
      data:  { run: "echo alpha > ${outs.d}", outs: [d] }
      count: { run: "wc -c < ${inputs.d} > ${outs.n}", inputs: { d: data.d }, outs: [n] }

    """

    static func fix(_ where: String) -> String {
        "; the lock file cannot be used: restore it (`git checkout -- pipelines/p.lock`) or delete it (`rm -r pipelines/p.lock`), "
            + "and the next successful `pipe run` of its pipeline writes it again"
    }

    func workspace(_ label: String) throws -> TestWorkspace {
        let workspace = try TestWorkspace(label)
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/p.yaml", Self.pipeline)
        let first = try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root)
        #expect(first.status == 0 && workspace.exists("pipelines/p.lock"), "\(first)")
        return workspace
    }

    /// gc refuses with exactly `problem` and removes nothing; status and show work; a run writes
    /// the lock again (`healsOnRun`), after which gc collects.
    func expectRefusal(_ workspace: TestWorkspace, problem: String, healsOnRun: Bool = true,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let stored = (workspace.list("artifacts/objects"), workspace.list("artifacts/stages"))
        let gc = try pipe.run(["gc", "--keep-last", "0", "--grace", "0"], in: workspace.root)
        #expect(gc.status == 2, "\(gc)", sourceLocation: sourceLocation)
        #expect(gc.stderr == "error: not collecting (nothing was removed): \(problem)\(Self.fix(problem)).\n", "\(gc)", sourceLocation: sourceLocation)
        #expect(workspace.list("artifacts/objects") == stored.0 && workspace.list("artifacts/stages") == stored.1, sourceLocation: sourceLocation)

        let status = try pipe.run(["status", "pipelines/p.yaml"], in: workspace.root)
        #expect(status.status == 0 && status.stdout.hasSuffix("p: all 2 stages cached\n"), "\(status)", sourceLocation: sourceLocation)
        let show = try pipe.run(["show", "latest"], in: workspace.root)
        #expect(show.status == 0, "\(show)", sourceLocation: sourceLocation)
        let run = try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root)
        #expect(run.status == 0 && run.stdout.contains("count: cached"), "\(run)", sourceLocation: sourceLocation)
        guard healsOnRun else {
            #expect(run.stderr == "warning: could not write the lock file: \(problem)\(Self.fix(problem))\n", "\(run)", sourceLocation: sourceLocation)
            return
        }
        #expect(try workspace.read("pipelines/p.lock").hasPrefix("# Written by pipe"), sourceLocation: sourceLocation)
        let again = try pipe.run(["gc", "--keep-last", "0", "--grace", "0"], in: workspace.root)
        #expect(again.status == 0, "\(again)", sourceLocation: sourceLocation)
    }

    @Test func garbageBytes() throws {
        let workspace = try workspace("pipe-e2e-lock-garbage")
        defer { workspace.remove() }
        try Data([0xFF, 0xFE, 0x00, 0x13, 0x80, 0x7F]).write(to: URL(fileURLWithPath: workspace.path("pipelines/p.lock")))
        try expectRefusal(workspace, problem: "pipelines/p.lock: it is not text (garbage bytes)")
    }

    @Test func cutOffInsideADigest() throws {
        let workspace = try workspace("pipe-e2e-lock-truncated")
        defer { workspace.remove() }
        let text = try workspace.read("pipelines/p.lock")
        let keyLine = try #require(text.range(of: "    key: ", options: .backwards))
        let cut = String(text[..<text.index(keyLine.upperBound, offsetBy: 10)])
        try workspace.write("pipelines/p.lock", cut)
        try expectRefusal(workspace, problem: "pipelines/p.lock: it is cut short: its last line is not `end: true` (a write or copy of it was interrupted)")
    }

    /// Cut at a line boundary the rest is valid YAML naming fewer stages: refused all the same.
    @Test func cutOffAtALineBoundary() throws {
        let workspace = try workspace("pipe-e2e-lock-cut-line")
        defer { workspace.remove() }
        let text = try workspace.read("pipelines/p.lock")
        let lastStage = try #require(text.range(of: "\n  count:\n"))
        try workspace.write("pipelines/p.lock", String(text[..<text.index(after: lastStage.lowerBound)]))
        try expectRefusal(workspace, problem: "pipelines/p.lock: it is cut short: its last line is not `end: true` (a write or copy of it was interrupted)")
    }

    @Test func emptyFile() throws {
        let workspace = try workspace("pipe-e2e-lock-empty")
        defer { workspace.remove() }
        try workspace.write("pipelines/p.lock", "")
        try expectRefusal(workspace, problem: "pipelines/p.lock: it is empty")
    }

    @Test func aDirectoryInItsPlace() throws {
        let workspace = try workspace("pipe-e2e-lock-directory")
        defer { workspace.remove() }
        try FileManager.default.removeItem(atPath: workspace.path("pipelines/p.lock"))
        try workspace.write("pipelines/p.lock/notes.txt", "mine\n")
        try expectRefusal(workspace, problem: "pipelines/p.lock: it is a directory, not a file", healsOnRun: false)
        #expect(try workspace.read("pipelines/p.lock/notes.txt") == "mine\n", "a directory in its place is the user's: left alone")
    }

    @Test(.enabled(if: getuid() != 0, "root reads a file whatever its permissions"))
    func noReadPermission() throws {
        let workspace = try workspace("pipe-e2e-lock-permissions")
        defer { workspace.remove() }
        chmod(workspace.path("pipelines/p.lock"), 0)
        try expectRefusal(workspace, problem: "pipelines/p.lock: no permission to read it (chmod u+r fixes that if its content is good)")
    }
}
