import Foundation
import WorkspaceTestSupport
import Store
import Testing

/// Faults a hostile or unlucky user meets, through the real binary: a killed `pipe`, damage inside
/// stored objects, hard links in outputs, a damaged run registry, a full disk.
@Suite("pipe under faults: killed runner, damaged store, full disk")
struct HardeningAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// True while any process is in process group `group`.
    static func groupAlive(_ group: Int32) -> Bool { kill(-group, 0) == 0 || errno == EPERM }

    static func waitFor(_ what: String, timeout: Double = 30, _ condition: () -> Bool) throws {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while !condition() {
            guard Date() < deadline else { throw TestSupportError("timed out waiting for \(what)") }
            usleep(20_000)
        }
    }

    @Test func killingPipeKillsItsStageAndTheRerunBuildsTheKeyOnceAndTheOldRunIsNotRunning() throws {
        let workspace = try TestWorkspace("pipe-e2e-orphan")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("slow", "")
        // The flag file is not a dep, so removing it leaves the key unchanged.
        try workspace.write("pipelines/slow.yaml", """
        name: slow
        stages:
          slow: { run: "echo $$ >> \(workspace.path("starts")); if [ -e \(workspace.path("slow")) ]; then sleep 60; fi; echo done > ${outs.o}", outs: [o] }

        """)
        let running = try pipe.start(["run", "pipelines/slow.yaml"], in: workspace.root)
        try Self.waitFor("the stage to start") { ((try? workspace.read("starts")) ?? "").hasSuffix("\n") }
        let stage = try #require(Int32(try workspace.read("starts").trimmingCharacters(in: .whitespacesAndNewlines)))
        let group = getpgid(stage)  // the stage runs in its watchdog's process group
        #expect(group > 0 && Self.groupAlive(group))

        running.signal(SIGKILL)
        _ = running.finish()
        try Self.waitFor("the stage's process group to die", timeout: 5) { !Self.groupAlive(group) }

        try FileManager.default.removeItem(atPath: workspace.path("slow"))
        let rerun = try pipe.run(["run", "pipelines/slow.yaml"], in: workspace.root)
        #expect(rerun.status == 0, "\(rerun)")
        #expect(rerun.stdout.contains("slow: ran"), "\(rerun)")
        #expect(try workspace.read("starts").split(separator: "\n").count == 2, "killed once, built once")

        let runs = try pipe.run(["runs"], in: workspace.root)
        #expect(runs.status == 0, "\(runs)")
        #expect(!runs.stdout.contains("running"), "\(runs)")
        #expect(runs.stdout.contains("interrupted"), "\(runs)")
    }

    static let directoryPipeline = """
    name: dirs
    stages:
      data:  { run: "mkdir -p ${outs.d} && echo alpha > ${outs.d}/a.txt && echo bravo > ${outs.d}/b.txt", outs: [d] }
      count: { run: "cat ${inputs.d}/a.txt ${inputs.d}/b.txt | wc -c > ${outs.n}", inputs: { d: data.d }, outs: [n] }

    """

    /// The store object of `stage`'s output `output` in the latest run.
    /// A workspace with `pipeline` at pipelines/dirs.yaml, run once successfully.
    func builtDirectoryWorkspace(_ name: String, pipeline: String = Self.directoryPipeline) throws -> TestWorkspace {
        let workspace = try TestWorkspace(name)
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/dirs.yaml", pipeline)
        #expect(try pipe.run(["run", "pipelines/dirs.yaml"], in: workspace.root).status == 0)
        return workspace
    }

    static func object(_ workspace: TestWorkspace, stage: String) throws -> String {
        for file in workspace.list("artifacts/stages") {
            let data = try Data(contentsOf: URL(fileURLWithPath: workspace.path("artifacts/stages/" + file)))
            let record = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            if record?["stage"] as? String == stage, let outputs = record?["outputs"] as? [String: String], let digest = outputs.values.first {
                return workspace.path("artifacts/objects/" + digest)
            }
        }
        throw TestSupportError("no record for \(stage)")
    }

    @Test func aFileDeletedInsideADirectoryObjectIsNotACacheHitAndExportRefusesIt() throws {
        let workspace = try TestWorkspace("pipe-e2e-dirdamage")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/dirs.yaml", Self.directoryPipeline)
        let first = try pipe.run(["run", "pipelines/dirs.yaml"], in: workspace.root)
        #expect(first.status == 0, "\(first)")

        let object = try Self.object(workspace, stage: "data")
        chmod(object, 0o755)
        #expect(unlink(object + "/b.txt") == 0)
        chmod(object, 0o555)

        let export = try pipe.run(["export", "latest", "data", "--to", "out"], in: workspace.root)
        #expect(export.status == 1, "\(export)")
        #expect(export.stderr.contains("is damaged in the store (file 'b.txt' is missing)"), "\(export)")
        #expect(!workspace.exists("out/a.txt"), "nothing was copied")

        let status = try pipe.run(["status", "pipelines/dirs.yaml"], in: workspace.root)
        #expect(status.stdout.contains("data   must run: its last result is no longer in the store"), "\(status)")
        #expect(status.stdout.hasSuffix("2 of 2 stages must run\n"), "\(status)")
        let rerun = try pipe.run(["run", "pipelines/dirs.yaml"], in: workspace.root)
        #expect(rerun.status == 0, "\(rerun)")
        #expect(rerun.stdout.contains("data: ran"), "\(rerun)")
        #expect(rerun.stderr.contains("is damaged (file 'b.txt' is missing); the stage will be rebuilt"), "\(rerun)")
        #expect(FileManager.default.fileExists(atPath: object + "/b.txt"), "the rebuild restored the object")
        let exported = try pipe.run(["export", "latest", "data", "--to", "out"], in: workspace.root)
        #expect(exported.status == 0, "\(exported)")
        #expect(try workspace.read("out/b.txt") == "bravo\n")
    }

    /// One rule for run and verify: a result built from an object before it was found damaged cannot
    /// be proven to have read good bytes, even when the rebuild restores the same digest; the run
    /// that heals the object rebuilds those results too, so a later verify has nothing to remove.
    @Test func aRunThatHealsAnInputAlsoRebuildsWhatWasBuiltFromItAndVerifyThenAgrees() throws {
        let workspace = try builtDirectoryWorkspace("pipe-e2e-heal")
        defer { workspace.remove() }

        let object = try Self.object(workspace, stage: "data")
        chmod(object, 0o755)
        #expect(unlink(object + "/b.txt") == 0)
        chmod(object, 0o555)

        let heal = try pipe.run(["run", "pipelines/dirs.yaml"], in: workspace.root)
        #expect(heal.status == 0, "\(heal)")
        #expect(heal.stdout.contains("data: ran") && heal.stdout.contains("count: ran"), "\(heal)")
        let digest = URL(fileURLWithPath: object).lastPathComponent
        #expect(heal.stderr.contains("results built from the damaged object \(digest.prefix(12)) before it was found damaged will be rebuilt: count ("), "\(heal)")
        let count = try Self.object(workspace, stage: "count")
        #expect(try String(contentsOfFile: count, encoding: .utf8).trimmingCharacters(in: .whitespaces) == "12\n")

        let verify = try pipe.run(["verify"], in: workspace.root)
        #expect(verify.status == 0, "\(verify)")
        #expect(verify.stdout.hasSuffix("store is intact\n") && !verify.stdout.contains("POISONED"), "\(verify)")
        let again = try pipe.run(["run", "pipelines/dirs.yaml"], in: workspace.root)
        #expect(again.stdout.contains("data: cached") && again.stdout.contains("count: cached"), "\(again)")
    }

    @Test func aSameSizeEditIsFoundByVerifyWhichAlsoDropsTheResultsBuiltFromIt() throws {
        let workspace = try builtDirectoryWorkspace("pipe-e2e-poison")
        defer { workspace.remove() }

        let object = try Self.object(workspace, stage: "data")
        chmod(object, 0o755)
        chmod(object + "/a.txt", 0o644)
        try Data("ALPHA\n".utf8).write(to: URL(fileURLWithPath: object + "/a.txt"))

        let verify = try pipe.run(["verify"], in: workspace.root)
        #expect(verify.status == 1, "\(verify)")
        #expect(verify.stdout.contains("CORRUPT"), "\(verify)")
        #expect(verify.stdout.contains("POISONED stage result") && verify.stdout.contains("(stage count): built from corrupt object"), "\(verify)")
        let rerun = try pipe.run(["run", "pipelines/dirs.yaml"], in: workspace.root)
        #expect(rerun.stdout.contains("data: ran") && rerun.stdout.contains("count: ran"), "\(rerun)")
        let again = try pipe.run(["verify"], in: workspace.root)
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.hasSuffix("store is intact\n"), "\(again)")
    }

    /// A file object emptied, or replaced by a directory: status says the stage must run, the run
    /// heals it (and rebuilds what read it), verify then agrees, and the bytes are right again.
    @Test func anEmptiedObjectOrADirectoryInItsPlaceIsHealedByTheNextRun() throws {
        for damage in ["empty", "directory"] {
            let workspace = try builtDirectoryWorkspace("pipe-e2e-\(damage)-object", pipeline: Self.directoryPipeline + "  twice: { run: \"cat ${inputs.n} ${inputs.n} > ${outs.t}\", inputs: { n: count.n }, outs: [t] }\n")
            defer { workspace.remove() }
            let object = try Self.object(workspace, stage: "count")
            if damage == "empty" {
                #expect(truncate(object, 0) == 0)
            } else {
                #expect(unlink(object) == 0)
                try workspace.write("artifacts/objects/" + URL(fileURLWithPath: object).lastPathComponent + "/junk", "x")
            }
            let status = try pipe.run(["status", "pipelines/dirs.yaml"], in: workspace.root)
            #expect(status.stdout.contains("count  must run: its last result is no longer in the store"), "\(damage): \(status)")
            let heal = try pipe.run(["run", "pipelines/dirs.yaml"], in: workspace.root)
            #expect(heal.status == 0 && heal.stdout.contains("count: ran") && heal.stdout.contains("twice: ran"), "\(damage): \(heal)")
            #expect(try String(contentsOfFile: object, encoding: .utf8) == "12\n", "\(damage)")
            let verify = try pipe.run(["verify"], in: workspace.root)
            #expect(verify.status == 0 && verify.stdout.hasSuffix("store is intact\n"), "\(damage): \(verify)")
        }
    }

    /// An object replaced by a symlink to a file outside the store with the same bytes: verify used
    /// to follow it and call the store intact while a run took it for damage. Now both do, and
    /// neither touches the file outside.
    @Test func anObjectReplacedByASymlinkOutsideTheStoreIsCorruptForVerifyAndRun() throws {
        let workspace = try builtDirectoryWorkspace("pipe-e2e-symlink-object")
        defer { workspace.remove() }
        let object = try Self.object(workspace, stage: "count")
        let outside = try String(contentsOfFile: object, encoding: .utf8)
        try workspace.write("outside/n", outside)
        #expect(unlink(object) == 0 && symlink(workspace.path("outside/n"), object) == 0)

        let verify = try pipe.run(["verify"], in: workspace.root)
        #expect(verify.status == 1, "\(verify)")
        let digest = URL(fileURLWithPath: object).lastPathComponent
        #expect(verify.stdout.contains("CORRUPT \(digest.prefix(12)): it is a symlink to \(workspace.path("outside/n")), not a stored object\n"), "\(verify)")
        let rerun = try pipe.run(["run", "pipelines/dirs.yaml"], in: workspace.root)
        #expect(rerun.status == 0 && rerun.stdout.contains("count: ran"), "\(rerun)")
        #expect(try workspace.read("outside/n") == outside, "the file outside the store is left alone")
        var info = stat()
        #expect(lstat(object, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG, "a stored file again")
        #expect(try pipe.run(["verify"], in: workspace.root).stdout.hasSuffix("store is intact\n"))
    }

    @Test func aHardLinkInAnOutputLeavesTheOutsideFileWritableAndTheObjectPrivate() throws {
        let workspace = try TestWorkspace("pipe-e2e-hardlink")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("outside.txt", "mine\n")
        try workspace.write("pipelines/link.yaml", """
        name: link
        stages:
          link: { run: "mkdir ${outs.o} && ln \(workspace.path("outside.txt")) ${outs.o}/h", outs: [o] }

        """)
        let result = try pipe.run(["run", "pipelines/link.yaml"], in: workspace.root)
        #expect(result.status == 0, "\(result)")
        let attributes = try FileManager.default.attributesOfItem(atPath: workspace.path("outside.txt"))
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
        #expect((attributes[.referenceCount] as? Int) == 1)
        try workspace.write("outside.txt", "edited\n")
        let verify = try pipe.run(["verify"], in: workspace.root)
        #expect(verify.status == 0, "\(verify)")
    }

    @Test func aTruncatedRegistryIsReportedGcRefusesAndVerifyRebuildsIt() throws {
        let workspace = try builtDirectoryWorkspace("pipe-e2e-registry")
        defer { workspace.remove() }
        for suffix in ["-wal", "-shm"] { unlink(workspace.path("artifacts/runs.sqlite" + suffix)) }
        #expect(truncate(workspace.path("artifacts/runs.sqlite"), 0) == 0)

        let runs = try pipe.run(["runs"], in: workspace.root)
        #expect(runs.stderr.contains("warning: the run registry lost history"), "\(runs)")
        #expect(runs.stderr.contains("`pipe verify --rebuild-registry`"), "\(runs)")
        let gc = try pipe.run(["gc", "--grace", "0"], in: workspace.root)
        #expect(gc.status == 2, "\(gc)")
        #expect(gc.stderr.contains("error: not collecting: the run registry lost history"), "\(gc)")
        #expect(workspace.list("artifacts/stages").count == 2)

        let verify = try pipe.run(["verify"], in: workspace.root)
        #expect(verify.status == 1, "\(verify)")
        #expect(verify.stdout.contains("checked 3 objects"), "every object is still checked: \(verify)")
        #expect(verify.stdout.contains("REGISTRY "), "\(verify)")

        let rebuild = try pipe.run(["verify", "--rebuild-registry"], in: workspace.root)
        #expect(rebuild.status == 0, "\(rebuild)")
        #expect(rebuild.stdout.contains("rebuilt the run registry from 2 stage records"), "\(rebuild)")
        let again = try pipe.run(["verify", "--rebuild-registry"], in: workspace.root)
        #expect(again.stdout.hasPrefix("the run registry is sound; not rebuilding it\n"), "\(again)")
        let collected = try pipe.run(["gc", "--grace", "0"], in: workspace.root)
        #expect(collected.status == 0, "\(collected)")
        #expect(workspace.list("artifacts/stages").count == 2, "the recovered run keeps every result")
    }

    @Test func aGarbledRegistryDoesNotStopVerify() throws {
        let workspace = try builtDirectoryWorkspace("pipe-e2e-garbled")
        defer { workspace.remove() }
        for suffix in ["-wal", "-shm"] { unlink(workspace.path("artifacts/runs.sqlite" + suffix)) }
        try workspace.write("artifacts/runs.sqlite", String(repeating: "not a database ", count: 400))
        let verify = try pipe.run(["verify"], in: workspace.root)
        #expect(verify.status == 1, "\(verify)")
        #expect(verify.stdout.contains("checked 3 objects"), "\(verify)")
        #expect(verify.stdout.contains("REGISTRY store: run registry: cannot open"), "\(verify)")
        let rebuild = try pipe.run(["verify", "--rebuild-registry"], in: workspace.root)
        #expect(rebuild.status == 0, "\(rebuild)")
    }

    /// Runs `script` (sh, in the workspace, $PIPE set) with `small/` a 1 MiB tmpfs, in a user and mount
    /// namespace so no root is needed; false, running nothing, where the kernel does not allow that.
    private func runOnTinyTmpfs(_ workspace: TestWorkspace, _ script: String) throws -> Bool {
        func inNamespace(_ command: String, directory: String? = nil) throws -> Int32? {
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            shell.arguments = ["-Urm", "sh", "-c", command]
            if let directory { shell.currentDirectoryURL = URL(fileURLWithPath: directory) }
            shell.environment = ProcessInfo.processInfo.environment.merging(["PIPE": pipe.path, "NO_COLOR": "1"]) { $1 }
            guard (try? shell.run()) != nil else { return nil }
            shell.waitUntilExit()
            return shell.terminationStatus
        }
        let mount = "mount -t tmpfs -o size=1m tmpfs \(workspace.path("small"))"
        guard try inNamespace(mount) == 0 else { return false }
        _ = try inNamespace(mount + " && " + script, directory: workspace.root)
        return true
    }

    /// A store on a 1 MiB tmpfs (in a user and mount namespace, so no root is needed); skipped where
    /// the kernel does not allow unprivileged namespaces.
    @Test func aFullDiskIsReportedAsSuchAndTheRunEndsFailed() throws {
        let workspace = try TestWorkspace("pipe-e2e-enospc")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: workspace.path("small"), withIntermediateDirectories: true)
        try workspace.write("pipelines/fill.yaml", """
        name: fill
        stages:
          writer: { run: "head -c 4000000 /dev/zero > ${outs.o}", outs: [o] }
          filler: { run: "head -c 4000000 /dev/zero > ${outs.o} 2>/dev/null; true", outs: [o] }

        """)
        let script = """
        "$PIPE" run pipelines/fill.yaml -j 1 --store small/store > out.txt 2>&1; echo $? > status.txt; \
        ls small/store/tmp > tmp.txt; "$PIPE" runs --store small/store > runs.txt 2>&1
        """
        guard try runOnTinyTmpfs(workspace, script) else { return }  // no unprivileged mounts here
        let output = try workspace.read("out.txt")
        #expect(try workspace.read("status.txt") == "1\n", "\(output)")
        #expect(output.contains("writer: FAILED"), "\(output)")
        #expect(output.contains("no space left on device: the filesystem holding"), "\(output)")
        #expect(output.contains("filler: FAILED"), "\(output)")
        #expect(output.contains("store: no space left on device while writing"), "\(output)")
        #expect(try workspace.read("tmp.txt") == "", "nothing is left in tmp/")
        let runs = try workspace.read("runs.txt")
        #expect(runs.contains("failed") && !runs.contains("running"), "\(runs)")
    }

    /// A run whose opening registry write finds the disk full (another file filled it) is recorded when
    /// it ends, once a stage has freed the space: the opening is tried again and the stage rows waited.
    /// Tmpfs in a user and mount namespace, as above; skipped where that is not allowed.
    @Test func aRunStartedOnAFullDiskIsRecordedWhenSpaceReturns() throws {
        let workspace = try TestWorkspace("pipe-e2e-enospc-open")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: workspace.path("small"), withIntermediateDirectories: true)
        try workspace.write("pipelines/free.yaml", """
        name: free
        stages:
          free: { run: "rm -f \(workspace.path("small/filler")); mkdir -p ${outs.o}", outs: [o] }

        """)
        let script = """
        "$PIPE" run pipelines/free.yaml -j 1 --store small/store > first.txt 2>&1 && \
        (dd if=/dev/zero of=small/filler bs=4k 2>/dev/null; true) && \
        "$PIPE" run pipelines/free.yaml -j 1 --store small/store --force free > out.txt 2>&1; echo $? > status.txt; \
        "$PIPE" runs --store small/store > runs.txt 2>&1
        """
        guard try runOnTinyTmpfs(workspace, script) else { return }  // no unprivileged mounts here
        let output = try workspace.read("out.txt")
        #expect(try workspace.read("status.txt") == "0\n", "\(output)")
        #expect(output.contains("warning: the run is not recorded yet (") && output.contains("); trying again when it ends"), "\(output)")
        #expect(output.contains("the run is recorded after all"), "\(output)")
        let runs = try workspace.read("runs.txt").split(separator: "\n").filter { $0.contains("succeeded") }
        #expect(runs.count == 2 && runs.allSatisfy { $0.contains("1 ran") }, "both runs with their stage rows: \(runs)")
    }

    /// A store on a read-only mount (a bind mount in a user and mount namespace; skipped where the
    /// kernel does not allow that): `pipe run` and `pipe gc` refuse up front, naming the directory
    /// and the fix, instead of failing stage by stage or seeming to run without recording; `pipe
    /// status` still reads it and `pipe verify` reports what it finds without acting on it; nothing
    /// stored changes.
    @Test func aReadOnlyStoreIsRefusedWithTheFixAndStillRead() throws {
        let workspace = try builtDirectoryWorkspace("pipe-e2e-readonly")
        defer { workspace.remove() }
        let stored = (workspace.list("artifacts/objects"), workspace.list("artifacts/stages"))
        // A same-size edit (no cheap check sees it): verify finds it but cannot quarantine it.
        let object = try Self.object(workspace, stage: "count")
        chmod(object, 0o644)
        try Data("99\n".utf8).write(to: URL(fileURLWithPath: object))

        var script = "mount --bind artifacts artifacts && mount -o remount,ro,bind artifacts || exit 3\n"
        for (name, command) in [("run", "run pipelines/dirs.yaml --force count"), ("gc", "gc --grace 0"),
                                ("status", "status pipelines/dirs.yaml"), ("verify", "verify")] {
            script += "\"$PIPE\" \(command) > \(name).txt 2>&1; echo $? > \(name).status\n"
        }
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        shell.arguments = ["-Urm", "sh", "-c", script]
        shell.currentDirectoryURL = URL(fileURLWithPath: workspace.root)
        shell.environment = ProcessInfo.processInfo.environment.merging(["PIPE": pipe.path, "NO_COLOR": "1"]) { $1 }
        guard (try? shell.run()) != nil else { return }
        shell.waitUntilExit()
        guard shell.terminationStatus != 3, workspace.exists("run.status") else { return }  // no unprivileged mounts here

        let fix = "the filesystem is mounted read-only; runs and gc write there: remount it read-write or pass --store DIR to use another\n"
        #expect(try workspace.read("run.status") == "2\n")
        #expect(try workspace.read("run.txt") == "error: store: write to the store failed for \(workspace.path("artifacts")): \(fix)")
        #expect(try workspace.read("gc.status") == "2\n")
        #expect(try workspace.read("gc.txt").hasSuffix("error: store: write to the store failed for \(workspace.path("artifacts")): \(fix)"))
        let status = try workspace.read("status.txt"), verify = try workspace.read("verify.txt")
        #expect(try workspace.read("status.status") == "0\n", "\(status)")
        #expect(try workspace.read("status.txt").hasSuffix("dirs: all 2 stages cached\n"))
        #expect(try workspace.read("verify.status") == "1\n", "\(verify)")
        #expect(verify.contains("CORRUPT \(URL(fileURLWithPath: object).lastPathComponent.prefix(12)): content hashes to "), "\(verify)")
        #expect(verify.contains("\n  left in place (the store cannot be written)\n"), "\(verify)")
        #expect(verify.contains("\nnothing was quarantined or removed: store: write to the store failed for \(workspace.path("artifacts")): \(fix)"), "\(verify)")
        #expect(workspace.list("artifacts/objects") == stored.0 && workspace.list("artifacts/stages") == stored.1)
    }
}
