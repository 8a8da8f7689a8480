import Commands
import Foundation
import Store
import Testing
import WorkspaceTestSupport

@Suite("pipe reproduce and pipe export")
struct ReproduceAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    @Test func finishedRunReproducesBitForBitFromTheRegistryAndFromTheLockFile() throws {
        let workspace = try HistoryFixture.workspace("pipe-reproduce")
        defer { workspace.remove() }
        #expect(try pipe.run(["run", HistoryFixture.pipeline, "--set", "ppo.lr=3e-5"], in: workspace.root).status == 0)
        try workspace.clearLedger()
        let result = try pipe.run(["reproduce", "latest"], in: workspace.root, environment: workspace.ledgerEnvironment)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("all 6 stages reproduced bit for bit"), "\(result)")
        // Every stage really executed again (nothing came from the cache).
        #expect(workspace.ledger() == ["tokenise", "sft", "rm-pairs", "rm", "ppo", "evaluate"], "\(workspace.ledger())")
        // The scratch store is gone and the real store untouched by it.
        #expect(workspace.list("artifacts/tmp").isEmpty, "\(workspace.list("artifacts/tmp"))")

        let fromLock = try pipe.run(["reproduce", "--lock", "pipelines/rlhf.lock"], in: workspace.root)
        #expect(fromLock.status == 0, "\(fromLock)")
        #expect(fromLock.stdout.contains("all 6 stages reproduced bit for bit"), "\(fromLock)")
    }

    @Test func sweepLockFileReproducesOneVariant() throws {
        let workspace = try HistoryFixture.workspace("pipe-reproduce-sweep")
        defer { workspace.remove() }
        #expect(try pipe.run(["run", HistoryFixture.pipeline, "--sweep", "ppo.lr=1e-5,3e-5"], in: workspace.root).status == 0)
        let ambiguous = try pipe.run(["reproduce", "--lock", "pipelines/rlhf.sweep.lock"], in: workspace.root)
        #expect(ambiguous.status == 2 && ambiguous.stderr.contains("--variant"), "\(ambiguous)")
        let result = try pipe.run(["reproduce", "--lock", "pipelines/rlhf.sweep.lock", "--variant", "ppo.lr=3e-05"], in: workspace.root)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("(variant ppo.lr=3e-05)") && result.stdout.contains("all 6 stages reproduced bit for bit"), "\(result)")
    }

    @Test func nonDeterministicStageIsNamed() throws {
        let workspace = try HistoryFixture.workspace("pipe-reproduce-nondet")
        defer { workspace.remove() }
        #expect(try pipe.run(["run", HistoryFixture.pipeline, "--set", "eval.nondeterministic=true"], in: workspace.root).status == 0)
        let result = try pipe.run(["reproduce"], in: workspace.root)
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("first divergence: stage 'eval': same key, different bytes"), "\(result)")
        #expect(result.stdout.contains("eval    DIVERGED: non-deterministic"), "\(result)")
        #expect(result.stdout.contains("output samples:"), "\(result)")
        #expect(result.stdout.contains("ppo     identical"), "\(result)")
    }

    @Test func changedDefinitionIsReportedAsSuch() throws {
        let workspace = try HistoryFixture.workspace("pipe-reproduce-changed")
        defer { workspace.remove() }
        #expect(try pipe.run(["run", HistoryFixture.pipeline], in: workspace.root).status == 0)
        // The sft command changes after the run: its key cannot match any more.
        try workspace.write("stages/sft.yaml", try workspace.read("stages/sft.yaml").replacingOccurrences(of: "uniq -c", with: "uniq -c | sort"))
        let result = try pipe.run(["reproduce", "latest"], in: workspace.root)
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("first divergence: stage 'sft': its params or definition changed"), "\(result)")
        #expect(result.stdout.contains("command changed"), "\(result)")
    }

    @Test func exportedModelFolderGetsTheTokenizerOfItsInputs() throws {
        let workspace = try TestWorkspace("pipe-export-model")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/m.yaml", """
        name: models
        stages:
          sft: { run: "mkdir ${outs.model}; echo '{}' > ${outs.model}/config.json; echo tok > ${outs.model}/tokenizer.json", outs: [model] }
          ppo: { run: "mkdir ${outs.model}; cp ${inputs.policy}/config.json ${outs.model}/; echo w > ${outs.model}/model.safetensors",
                 inputs: { policy: sft.model }, outs: [model] }

        """)
        #expect(try pipe.run(["run", "pipelines/m.yaml"], in: workspace.root).status == 0)
        let result = try pipe.run(["export", "latest", "ppo", "--to", "hf/ppo"], in: workspace.root)
        #expect(result.status == 0, "\(result)")
        #expect(workspace.list("hf/ppo") == ["config.json", "model.safetensors", "tokenizer.json"])
        #expect(try workspace.read("hf/ppo/tokenizer.json") == "tok\n")
        #expect(result.stdout.contains("added tokenizer.json (input policy) from the stage's inputs"), "\(result)")
    }

    @Test func exportCopiesAnOutputOutOfTheStore() throws {
        let workspace = try HistoryFixture.workspace("pipe-export")
        defer { workspace.remove() }
        #expect(try pipe.run(["run", HistoryFixture.pipeline], in: workspace.root).status == 0)
        let ambiguous = try pipe.run(["export", "latest", "eval", "--to", "out"], in: workspace.root)
        #expect(ambiguous.status == 2 && ambiguous.stderr.contains("--output"), "\(ambiguous)")
        let misspelt = try pipe.run(["export", "latest", "evl", "--to", "out"], in: workspace.root)
        #expect(misspelt.status == 2 && misspelt.stderr.contains("has no stage 'evl' (did you mean 'eval'?)"), "\(misspelt)")
        let result = try pipe.run(["export", "latest", "eval", "--output", "metrics", "--to", "out"], in: workspace.root)
        #expect(result.status == 0, "\(result)")
        let text = try workspace.read("out/metrics")
        #expect(text.contains("\"score\": -0.059"), "\(text)")
        // The copy is the user's: writable.
        #expect(FileManager.default.isWritableFile(atPath: workspace.path("out/metrics")))
        let again = try pipe.run(["export", "latest", "eval", "--output", "metrics", "--to", "out"], in: workspace.root)
        #expect(again.status == 2, "\(again)")
    }
}
