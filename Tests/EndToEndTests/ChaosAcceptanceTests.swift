import Foundation
import WorkspaceTestSupport
import Store
import Testing

/// `pipe` killed in the middle of store upkeep, and stores with entries that are not what their
/// names say, through the real binary. (`scripts/chaos-kill.sh` kills runs, gc and push at random
/// moments in a loop.)
@Suite("pipe killed during upkeep; damaged store entries")
struct ChaosAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// Before, gc deleted an object's files in place: a kill in the middle left `objects/<digest>`
    /// holding part of the tree, which `pipe verify` then reported as corrupt (and a cache lookup
    /// had to catch by its shape). Now the object leaves objects/ by one rename first.
    @Test func killingGcInTheMiddleLeavesNoPartialObject() throws {
        let workspace = try TestWorkspace("pipe-e2e-gc-kill")
        defer { workspace.remove() }
        // gc wants a recorded run (it keeps what recent runs need).
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/p.yaml", "name: p\nstages:\n  a: { run: \"echo a > ${outs.o}\", outs: [o] }\n")
        let run = try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root)
        #expect(run.status == 0, "\(run)")
        let store = try ArtifactStore(root: workspace.path("artifacts"), warning: { _ in })
        let count = 1500
        let tree = workspace.path("tree")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        for index in 0..<count {
            #expect(FileManager.default.createFile(atPath: tree + "/f\(index)", contents: Data("file \(index)\n".utf8)))
        }
        // Placed by rename, not ingested: ingest fsyncs every file, slow for a test.
        let object = store.objectPath(try store.digest(ofPath: tree))
        try FileManager.default.moveItem(atPath: tree, toPath: object)

        let gc = try pipe.start(["gc", "--keep-last", "0", "--grace", "0"], in: workspace.root)
        // Kill as soon as the removal is seen to have started.
        let deadline = Date(timeIntervalSinceNow: 30)
        while Date() < deadline, (try? FileManager.default.contentsOfDirectory(atPath: object).count) == count {}
        gc.signal(SIGKILL)
        let killed = gc.finish()
        #expect(killed.status == SIGKILL || killed.status == 0, "\(killed)")

        let left = try? FileManager.default.contentsOfDirectory(atPath: object)
        #expect(left == nil || left?.count == count, "objects/ holds \(left?.count ?? 0) of the object's \(count) files")
        let verify = try pipe.run(["verify"], in: workspace.root)
        #expect(verify.status == 0 && verify.stdout.contains("store is intact"), "\(verify)")
        let again = try pipe.run(["gc", "--keep-last", "0", "--grace", "0"], in: workspace.root)
        #expect(again.status == 0, "\(again)")
        #expect(!FileManager.default.fileExists(atPath: object))
    }

    /// A directory where a stage record goes: the run warns, moves it aside and caches the stage.
    @Test func aDirectoryInPlaceOfAStageRecordDoesNotFailEveryRun() throws {
        let workspace = try TestWorkspace("pipe-e2e-record-dir")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/p.yaml", """
        name: p
        stages:
          a: { run: "echo alpha > ${outs.o}", outs: [o] }

        """)
        let first = try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root)
        #expect(first.status == 0, "\(first)")
        let record = try #require(workspace.list("artifacts/stages").first)
        let path = workspace.path("artifacts/stages/" + record)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path + "/junk", withIntermediateDirectories: true)

        let rerun = try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root)
        #expect(rerun.status == 0, "\(rerun)")
        #expect(rerun.stdout.contains("a: ran"), "\(rerun)")
        #expect(rerun.stderr.contains("warning: \(path) was a directory, not a stage record; moved it to "), "\(rerun)")
        let cached = try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root)
        #expect(cached.stdout.contains("a: cached"), "\(cached)")
    }

    /// A stage's background job holding an output open: before, it wrote into the output after the
    /// output was stored (`pipe verify` then found the object corrupt). Now the stage's process
    /// group is killed when its command ends, before the outputs are collected.
    @Test func aBackgroundJobCannotChangeAStoredOutput() throws {
        let workspace = try TestWorkspace("pipe-e2e-late-writer")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/p.yaml", """
        name: p
        stages:
          late: { run: "exec 3>${outs.o}; echo early >&3; (sleep 1; echo late >&3) & true", outs: [o] }

        """)
        let run = try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root)
        #expect(run.status == 0, "\(run)")
        usleep(1_500_000)
        let verify = try pipe.run(["verify"], in: workspace.root)
        #expect(verify.status == 0 && verify.stdout.contains("store is intact"), "\(verify)")
        let export = try pipe.run(["export", "latest", "late", "--to", "out"], in: workspace.root)
        #expect(export.status == 0, "\(export)")
        let files = workspace.list("out")
        #expect(files.count == 1 && (try? workspace.read("out/" + files[0])) == "early\n", "\(files)")
    }

    /// An out inside another is its own artifact whichever order they are listed in: before,
    /// `outs: [r, r/deep]` moved `r` (with `deep` in it) into the store first, and the stage failed
    /// with "artifact …/r/deep does not exist".
    @Test func nestedOutsWorkInEitherOrder() throws {
        let workspace = try TestWorkspace("pipe-e2e-nested-outs")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        for (name, outs) in [("outer-first", "[r, r/deep]"), ("inner-first", "[r/deep, r]")] {
            try workspace.write("pipelines/\(name).yaml", """
            name: \(name)
            stages:
              a: { run: "mkdir -p ${outs.r}/deep && echo top > ${outs.r}/top && echo deep > ${outs.r/deep}/d", outs: \(outs) }
              b: { run: "cd ${inputs.r} && find . | sort > ${outs.o}", inputs: { r: a.r }, outs: [o] }

            """)
            let run = try pipe.run(["run", "pipelines/\(name).yaml"], in: workspace.root)
            #expect(run.status == 0, "\(run)")
            let export = try pipe.run(["export", "latest", "b", "--to", name], in: workspace.root)
            #expect(export.status == 0, "\(export)")
            let files = workspace.list(name)
            #expect(files.count == 1 && (try? workspace.read(name + "/" + files[0])) == ".\n./top\n", "\(name): \(files)")
            let deep = try pipe.run(["export", "latest", "a", "--output", "r/deep", "--to", name + "-deep"], in: workspace.root)
            #expect(deep.status == 0, "\(deep)")
            #expect((try? workspace.read(name + "-deep/d")) == "deep\n", "\(workspace.list(name + "-deep"))")
        }
    }
}
