import Commands
import Foundation
import Hashing
import RemoteHTTP
import Store
import Testing
import WorkspaceTestSupport

/// `pipe push`, `pipe pull`, `pipe run --remote/--push` and `pipe status --remote` through the real
/// binary, against a filesystem remote named in pipe.config.yaml (the HTTP transport has its own
/// suites against nginx and a fault-injecting server in RemoteTests).
@Suite("pipe push / pull / run --remote")
struct RemoteAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    static let pipeline = CommandPipelineFixture.pipelineFile

    func workspace(_ label: String) throws -> TestWorkspace {
        let workspace = try TestWorkspace.rlhfShaped(label)
        try FileManager.default.createDirectory(atPath: workspace.path("remote"), withIntermediateDirectories: true)
        try workspace.write("pipe.config.yaml", "remotes:\n  nas: { path: remote, default: true }\n")
        return workspace
    }

    func run(_ workspace: TestWorkspace, _ arguments: [String]) throws -> (PipeBinary.Result, [String]) {
        try workspace.clearLedger()
        let result = try pipe.run(arguments, in: workspace.root, environment: workspace.ledgerEnvironment)
        return (result, workspace.ledger())
    }

    /// objects/ of a store: name → file contents (trees flattened), for byte-identity checks.
    func objectBytes(_ root: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let base = URL(fileURLWithPath: root + "/objects")
        guard let walker = FileManager.default.enumerator(atPath: base.path) else { return [:] }
        for case let relative as String in walker {
            let full = base.path + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[relative] = try Data(contentsOf: URL(fileURLWithPath: full))
            }
        }
        return result
    }

    @Test func pushedRunPullsIntoAnEmptyStoreByteIdenticalAndRunsAsANoOp() throws {
        let workspace = try workspace("pipe-remote-roundtrip")
        defer { workspace.remove() }
        #expect(try run(workspace, ["run", Self.pipeline]).0.status == 0)
        let push = try pipe.run(["push"], in: workspace.root)
        #expect(push.status == 0, "\(push)")
        #expect(push.stdout.contains("pushed 6 stage results to nas ("), "\(push)")
        let runID = try #require(push.stdout.components(separatedBy: "pipe pull ").dropFirst().first?.split(separator: " ").first.map(String.init))
        let again = try pipe.run(["push", "--remote", "nas"], in: workspace.root)
        #expect(again.stdout.contains(": 0 B moved (0 files), "), "a second push moves nothing: \(again)")

        let pull = try pipe.run(["pull", runID, "--store", "other"], in: workspace.root)
        #expect(pull.status == 0, "\(pull)")
        #expect(pull.stdout.contains("pulled 6 stage results from nas ("), "\(pull)")
        #expect(try objectBytes(workspace.path("other")) == objectBytes(workspace.path("artifacts")))
        let (noop, ledger) = try run(workspace, ["run", Self.pipeline, "--store", "other"])
        #expect(noop.status == 0 && ledger.isEmpty, "\(noop) executed \(ledger)")
        #expect(noop.stdout.contains("0 ran, 6 cached"), "\(noop)")

        let missing = try pipe.run(["pull", "20990101-000000-dead", "--store", "third"], in: workspace.root)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("has no run '20990101-000000-dead'; give the full run id that `pipe push` printed"), "\(missing)")
    }

    @Test func readThroughBuildsNothingTheRemoteHasAndWriteThroughPushesTheRest() throws {
        let workspace = try workspace("pipe-remote-readthrough")
        defer { workspace.remove() }
        #expect(try run(workspace, ["run", Self.pipeline]).0.status == 0)
        #expect(try pipe.run(["push", "--all"], in: workspace.root).status == 0)

        let status = try pipe.run(["status", Self.pipeline, "--store", "fresh", "--remote", "nas"], in: workspace.root)
        #expect(status.stdout.contains("sft     cached (remote) "), "\(status)")
        #expect(status.stdout.contains("all 6 stages cached (6 on the remote)"), "\(status)")

        let (pulled, ledger) = try run(workspace, ["run", Self.pipeline, "--store", "fresh", "--remote", "nas"])
        #expect(pulled.status == 0 && ledger.isEmpty, "\(pulled) executed \(ledger)")
        #expect(pulled.stdout.contains("sft: pulled from the remote cache ("), "\(pulled)")
        #expect(pulled.stdout.contains("0 ran, 0 cached, 6 pulled"), "\(pulled)")

        // A changed PPO param: upstream stages come from the remote, only ppo and eval run; --push shares them.
        let (changed, ran) = try run(workspace, ["run", Self.pipeline, "--store", "third", "--remote", "nas", "--push", "--set", "ppo.lr=3e-5"])
        #expect(changed.status == 0, "\(changed)")
        #expect(ran == ["ppo", "evaluate"], "executed \(ran)")
        #expect(changed.stdout.contains("pushed 6 stage results to nas"), "\(changed)")
        let (fourth, none) = try run(workspace, ["run", Self.pipeline, "--store", "fourth", "--remote", "nas", "--set", "ppo.lr=3e-5"])
        #expect(fourth.status == 0 && none.isEmpty, "\(fourth) executed \(none)")
    }

    @Test func aFlippedByteOnTheRemoteIsRefusedAndTheStageRunsHere() throws {
        let workspace = try workspace("pipe-remote-flip")
        defer { workspace.remove() }
        #expect(try run(workspace, ["run", Self.pipeline]).0.status == 0)
        #expect(try pipe.run(["push"], in: workspace.root).status == 0)
        // Damage every content file of the remote.
        for name in try FileManager.default.contentsOfDirectory(atPath: workspace.path("remote/cas")) {
            let path = workspace.path("remote/cas/" + name)
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            guard !bytes.isEmpty else { continue }
            bytes[0] ^= 0x01
            chmod(path, 0o644)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        let (result, ledger) = try run(workspace, ["run", Self.pipeline, "--store", "fresh", "--remote", "nas"])
        #expect(result.status == 0, "\(result)")
        #expect(ledger.count == 6, "every stage ran here: \(ledger)")
        #expect(result.stdout.contains("warning: remote nas ("), "\(result)")
        #expect(result.stdout.contains(": refused object "), "\(result)")
        #expect(result.stdout.contains("running it here instead"), "\(result)")
        let verify = try pipe.run(["verify", "--store", "fresh"], in: workspace.root)
        #expect(verify.status == 0, "nothing corrupt entered the store: \(verify)")
    }

    @Test func aKilledPushLeavesNothingVisible() throws {
        let workspace = try workspace("pipe-remote-kill")
        defer { workspace.remove() }
        try workspace.write("pipelines/big.yaml", """
        name: big
        stages:
          big: { run: "head -c 120000000 /dev/urandom > ${outs.blob}", outs: [blob] }
          small: { run: "wc -c < ${inputs.blob} > ${outs.size}", inputs: { blob: big.blob }, outs: [size] }

        """)
        #expect(try pipe.run(["run", "pipelines/big.yaml"], in: workspace.root).status == 0)
        let pushing = try pipe.start(["push", "--all"], in: workspace.root)
        let tmp = workspace.path("remote/tmp")
        var killedMidway = false
        for _ in 0..<20_000 {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []
            if let name = names.first, let size = (try? FileManager.default.attributesOfItem(atPath: tmp + "/" + name))?[.size] as? Int, size > 0 {
                pushing.signal(SIGKILL)
                killedMidway = true
                break
            }
            usleep(500)
        }
        _ = pushing.finish()
        #expect(killedMidway, "the push finished before it could be killed")
        // Nothing under a final name is partial; no record is visible without its objects.
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: workspace.path("remote/stages"))) ?? []).isEmpty)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: workspace.path("remote/cas"))) ?? [] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: workspace.path("remote/cas/" + name)))
            #expect(SHA256.hash([UInt8](bytes)).hex == name, "cas/\(name) is partial")
        }
        // The partial upload in tmp/ is garbage for `pipe gc --remote` (young, so only with --grace 0).
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []
        #expect(!leftovers.isEmpty, "the killed push left its partial upload in tmp/")
        let young = try pipe.run(["gc", "--remote", "nas"], in: workspace.root)
        #expect(young.status == 0 && young.stdout.contains("removed 0 abandoned uploads from tmp/"), "\(young)")
        #expect(young.stdout.contains("kept \(leftovers.count) younger upload"), "\(young)")
        let collected = try pipe.run(["gc", "--remote", "nas", "--grace", "0"], in: workspace.root)
        #expect(collected.status == 0 && collected.stdout.contains("removed \(leftovers.count) abandoned upload"), "\(collected)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).isEmpty)
        // The push can simply be run again, and the result pulls intact.
        let again = try pipe.run(["push", "--all"], in: workspace.root)
        #expect(again.status == 0, "\(again)")
        let (pulled, _) = try run(workspace, ["run", "pipelines/big.yaml", "--store", "fresh", "--remote", "nas"])
        #expect(pulled.stdout.contains("0 ran, 0 cached, 2 pulled"), "\(pulled)")
    }

    @Test func readThroughOverHTTPSTrustsAPrivateCAOnlyWhenTold() throws {
        let workspace = try workspace("pipe-remote-https")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("certs"), withIntermediateDirectories: true)
        guard case .success(let certificate) = LocalNginx.makeSelfSignedCertificate(in: workspace.path("certs")) else {
            print("skipped: openssl cannot make a certificate"); return
        }
        let server: LocalNginx
        switch LocalNginx.start(in: workspace.path("nginx"), tls: certificate) {
        case .failure(let skip): print("skipped: \(skip)"); return
        case .success(let started): server = started
        }
        defer { server.stop() }
        try workspace.write("pipe.config.yaml", "remotes:\n  team: { url: \(server.url), ca_file: certs/server.crt, default: true }\n")
        #expect(try run(workspace, ["run", Self.pipeline]).0.status == 0)
        let push = try pipe.run(["push"], in: workspace.root)
        #expect(push.status == 0 && push.stdout.contains("pushed 6 stage results to team (https://127.0.0.1:"), "\(push)")
        let (pulled, ledger) = try run(workspace, ["run", Self.pipeline, "--store", "fresh", "--remote", "team"])
        #expect(pulled.status == 0 && ledger.isEmpty, "\(pulled) executed \(ledger)")
        #expect(pulled.stdout.contains("0 ran, 0 cached, 6 pulled"), "\(pulled)")

        // The URL alone: the self-signed certificate is refused, naming the remote and the fix.
        let runID = try #require(push.stdout.components(separatedBy: "pipe pull ").dropFirst().first?.split(separator: " ").first.map(String.init))
        let refused = try pipe.run(["pull", runID, "--remote", server.url, "--store", "other"], in: workspace.root)
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("remote \(server.url): runs/\(runID).json: the server's TLS certificate was not accepted (self-signed certificate)"), "\(refused)")
        #expect(refused.stderr.contains("give its PEM file with ca_file: in the remote's settings (or PIPE_REMOTE_CA_FILE)"), "\(refused)")
        // ...and accepted with PIPE_REMOTE_CA_FILE.
        let trusted = try pipe.run(["pull", runID, "--remote", server.url, "--store", "other"], in: workspace.root,
                                   environment: ["PIPE_REMOTE_CA_FILE": certificate.certificate])
        #expect(trusted.status == 0 && trusted.stdout.contains("pulled 6 stage results from \(server.url)"), "\(trusted)")
    }

    @Test func remoteProblemsAreUsageErrorsThatSayWhatToDo() throws {
        let workspace = try workspace("pipe-remote-usage")
        defer { workspace.remove() }
        let unknown = try pipe.run(["push", "--remote", "tema"], in: workspace.root)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no remote named 'tema' in pipe.config.yaml (configured: nas)"), "\(unknown)")
        try workspace.write("pipe.config.yaml", "remotes:\n  team: { url: http://127.0.0.1:9/pipe, auth_env: PIPE_TEST_UNSET_TOKEN }\n")
        let token = try pipe.run(["push", "--remote", "team"], in: workspace.root)
        #expect(token.status == 2)
        #expect(token.stderr.contains("auth_env names PIPE_TEST_UNSET_TOKEN, which is not set; export PIPE_TEST_UNSET_TOKEN with the token (it is never read from pipe.config.yaml)"), "\(token)")
        try workspace.write("pipe.config.yaml", "remotes:\n  team: { url: http://h/p, token: abc }\n")
        let secret = try pipe.run(["push"], in: workspace.root)
        #expect(secret.status == 2)
        #expect(secret.stderr.contains("pipe.config.yaml:2:28: remotes.team.token: secrets never go in pipe.config.yaml"), "\(secret)")

        // A remote that is down: one warning, then the run builds everything itself.
        try workspace.write("pipe.config.yaml", "remotes:\n  down: { url: http://127.0.0.1:9/pipe, retries: 1 }\n")
        let (down, ledger) = try run(workspace, ["run", Self.pipeline, "--remote", "down"])
        #expect(down.status == 0 && ledger.count == 6, "\(down) executed \(ledger)")
        #expect(down.stdout.components(separatedBy: "warning: ").count == 2, "one warning: \(down)")
        #expect(down.stdout.contains("tokens: warning: remote http://127.0.0.1:9/pipe: stages/"), "\(down)")
        #expect(down.stdout.contains("GET failed after 2 attempts: cannot connect to 127.0.0.1:9"), "\(down)")
        #expect(down.stdout.contains("running it here instead (and not asking the remote again in this run)"), "\(down)")
    }
}
