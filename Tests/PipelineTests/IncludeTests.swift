import Foundation
import Hashing
import Testing
@testable import Pipeline

/// `include:` in pipeline files: the stages of other pipeline files, with the same keys as where
/// they are written. (Malformed includes are pinned in DiagnosticsTests.)
@Suite struct IncludeTests {
    /// Each stage's key, with every upstream output's digest stood in by a hash of its producer's
    /// key and the output name, a path input's and a dep's by a hash of the path: equal here means
    /// equal in a run (the same upstream bytes give the same keys all the way down).
    static func chainedKeys(_ pipeline: ResolvedPipeline) -> [String: Digest] {
        var keys: [String: Digest] = [:]
        for stage in pipeline.stages {
            var inputs: [String: Digest] = [:]
            for input in stage.inputs { inputs[input.name] = SHA256.hash(keys[input.stage]!.hex + "/" + input.output) }
            for input in stage.pathInputs { inputs[input.name] = SHA256.hash("path:" + input.path) }
            let deps = Dictionary(uniqueKeysWithValues: stage.deps.map { ($0, SHA256.hash("dep:" + $0)) })
            keys[stage.name] = stage.keyMaterial(inputDigests: inputs, depDigests: deps, environment: ["arch": "x86_64"],
                                                 seed: stage.seed).key
        }
        return keys
    }

    /// The first four stages of `Fixtures.rlhf`, its `ppo` and `eval` left to the includer.
    static let base = """
        name: base
        seed: 99
        stages:
          tokens: { uses: tokenise, with: { vocab_size: 512 } }
          sft:    { uses: sft, inputs: { tokens: tokens.tokens, tokenizer: tokens.tokenizer }, with: { lr: 3e-4 } }
          pairs:  { uses: rm-pairs, inputs: { corpus: tokens.tokens, model: sft.model } }
          rm:     { uses: rm, inputs: { pairs: pairs.pairs, init: sft.model } }
        sweep:
          sft.lr: [1e-3, 1e-4]
        """

    static let top = """
        name: rlhf
        seed: 7
        include: shared/base.yaml
        stages:
          ppo:    { uses: ppo, inputs: { policy: sft.model, reward: rm.model }, with: { lr: 1.41e-5, init_kl_coef: 0.2 } }
          eval:   { uses: evaluate, inputs: { policy: ppo.model, baseline: sft.model, reward: rm.model } }
        """

    @Test func includedStagesHaveTheKeysTheyHaveInline() throws {
        let ws = try TempWorkspace()
        try ws.write("pipelines/shared/base.yaml", Self.base)
        let included = try ws.load(Self.top, name: "top.yaml")
        let inline = try ws.load(Fixtures.rlhf, name: "inline.yaml")
        #expect(included.stages.map(\.name) == inline.stages.map(\.name))
        #expect(Self.chainedKeys(included) == Self.chainedKeys(inline))
        // The includer's name and seed apply; the included file's sweep does not.
        #expect(included.name == "rlhf" && included.seed == 7 && included.sweep == nil)
        // Diagnostics and `pipe dag` still place a stage in the file that defines it.
        #expect(included.stage(named: "sft")?.location.file.hasSuffix("pipelines/shared/base.yaml") == true)
        #expect(included.sources.map { PathName.relative($0.path, to: ws.root) } == ["pipelines/top.yaml", "pipelines/shared/base.yaml"])
    }

    /// Paths inside an included stage (`./` inputs, deps) are workspace paths, wherever the file is.
    @Test func pathsInAnIncludedFileAreWorkspacePaths() throws {
        let ws = try TempWorkspace()
        try ws.write("data/corpus.txt", "text\n")
        let stage = """
              corpus: { run: "cat ${inputs.text} > ${outs.copy}", inputs: { text: ./data/corpus.txt }, deps: [plot.py], outs: [copy] }
            """
        try ws.write("pipelines/deep/down/paths.yaml", "stages:\n" + stage)
        let included = try ws.load("include: deep/down/paths.yaml\n", name: "top.yaml")
        let inline = try ws.load("stages:\n" + stage, name: "inline.yaml")
        let corpus = try #require(included.stage(named: "corpus"))
        #expect(corpus.pathInputs.map(\.path) == ["data/corpus.txt"] && corpus.deps == ["plot.py"])
        #expect(Self.chainedKeys(included) == Self.chainedKeys(inline))
    }

    /// top → middle → bottom, paths relative to each including file: the deepest file's stages first.
    @Test func nestedIncludesTakeStagesInIncludeOrder() throws {
        let ws = try TempWorkspace()
        try ws.write("pipelines/shared/middle.yaml", "include: [lower/bottom.yaml]\nstages:\n  sft: { uses: sft, inputs: { tokens: tokens.tokens, tokenizer: tokens.tokenizer } }\n")
        try ws.write("pipelines/shared/lower/bottom.yaml", "stages:\n  tokens: { uses: tokenise }\n")
        let p = try ws.load("name: top\ninclude: shared/middle.yaml\nstages:\n  pairs: { uses: rm-pairs, inputs: { corpus: tokens.tokens, model: sft.model } }\n")
        #expect(p.stages.map(\.name) == ["tokens", "sft", "pairs"])
        #expect(p.sources.map { PathName.relative($0.path, to: ws.root) }
                == ["pipelines/p.yaml", "pipelines/shared/middle.yaml", "pipelines/shared/lower/bottom.yaml"])
    }

    /// top includes left and right, both include base: base is read and taken once.
    @Test func aFileReachedTwiceIsTakenOnce() throws {
        let ws = try TempWorkspace()
        try ws.write("pipelines/base.yaml", "stages:\n  tokens: { uses: tokenise }\n")
        try ws.write("pipelines/left.yaml", "include: base.yaml\nstages:\n  sft: { uses: sft, inputs: { tokens: tokens.tokens, tokenizer: tokens.tokenizer } }\n")
        try ws.write("pipelines/right.yaml", "include: [base.yaml]\nstages:\n  judge: { uses: judge, inputs: { model: tokens.tokens } }\n")
        let p = try ws.load("include: [left.yaml, right.yaml]\n")
        #expect(p.stages.map(\.name) == ["tokens", "sft", "judge"])
        #expect(p.sources.map { PathName.baseName($0.path) } == ["p.yaml", "left.yaml", "base.yaml", "right.yaml"])
    }

    @Test func aSweepRunsOverIncludedStages() throws {
        let ws = try TempWorkspace()
        try ws.write("pipelines/shared/base.yaml", Self.base)
        try ws.write("pipelines/top.yaml", Self.top + "\nsweep:\n  sft.lr: [1e-3, 3e-4]\n  seed: [1, 2]\n")
        let variants = try PipelineLoader(workspace: ws.workspace).loadSweep(file: ws.path("pipelines/top.yaml"))
        #expect(variants.map(\.name) == ["sft.lr=0.001,seed=1", "sft.lr=0.001,seed=2", "sft.lr=0.0003,seed=1", "sft.lr=0.0003,seed=2"])
        #expect(variants[0].pipeline.stage(named: "sft")?.param("lr") == .float(1e-3))
        #expect(variants[1].pipeline.stage(named: "tokens")?.seed == 2)
        // The variant at sft.lr=3e-4 and seed 7 would be the base: its keys are the inline pipeline's.
        let inline = try ws.load(Fixtures.rlhf.replacingOccurrences(of: "seed: 7", with: "seed: 1"), name: "inline.yaml")
        #expect(Self.chainedKeys(variants[2].pipeline) == Self.chainedKeys(inline))
    }

    /// What a run records of the pipeline file (its digest, `pipe show`) covers the included files:
    /// an edit there is seen; without includes it is the file's own SHA-256.
    @Test func anEditToAnIncludedFileChangesThePipelineDigest() throws {
        let ws = try TempWorkspace()
        try ws.write("pipelines/shared/base.yaml", Self.base)
        func digest() throws -> Digest? {
            let p = try PipelineLoader.load(file: ws.path("pipelines/top.yaml"))
            return PipelineSource.digest(of: p.sources, workspace: p.workspace)
        }
        try ws.write("pipelines/top.yaml", Self.top)
        let before = try digest()
        try ws.write("pipelines/shared/base.yaml", Self.base + "\n# a comment: no key changes, the digest does\n")
        let after = try digest()
        #expect(before != nil && after != nil && before != after)
        let keysBefore = try Self.chainedKeys(PipelineLoader.load(file: ws.path("pipelines/top.yaml")))
        try ws.write("pipelines/shared/base.yaml", Self.base.replacingOccurrences(of: "lr: 3e-4", with: "lr: 2e-4"))
        let keysAfter = try Self.chainedKeys(PipelineLoader.load(file: ws.path("pipelines/top.yaml")))
        #expect(keysBefore["tokens"] == keysAfter["tokens"] && keysBefore["sft"] != keysAfter["sft"] && keysBefore["eval"] != keysAfter["eval"])

        try ws.write("pipelines/alone.yaml", Fixtures.rlhf)
        let alone = try PipelineLoader.load(file: ws.path("pipelines/alone.yaml"))
        #expect(PipelineSource.digest(of: alone.sources, workspace: alone.workspace) == SHA256.hash(Array(Fixtures.rlhf.utf8)))
    }

    static var repository: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// The shipped studies take the flagship's stages by `include:`: every stage they share has
    /// the flagship's key, so they share its cached results.
    @Test func shippedStudiesShareTheFlagshipsKeys() throws {
        let ws = try TempWorkspace([:])
        for file in ["pipelines/sentiment.yaml", "pipelines/algorithms.yaml", "pipelines/dpo-rounds.yaml", "scripts/review_openings.py"] {
            try ws.write(file, String(contentsOfFile: Self.repository + "/" + file, encoding: .utf8))
        }
        try ws.write("data/reviews/pos.txt", "好\n")
        try ws.write("data/reviews/neg.txt", "差\n")
        func load(_ name: String) throws -> ResolvedPipeline { try PipelineLoader.load(file: ws.path("pipelines/\(name)")) }
        let sentiment = try Self.chainedKeys(load("sentiment.yaml"))
        let algorithmsPipeline = try load("algorithms.yaml")
        let algorithms = Self.chainedKeys(algorithmsPipeline)
        let dpoRounds = try Self.chainedKeys(load("dpo-rounds.yaml"))
        #expect(sentiment.count == 10 && algorithms.count == 19 && dpoRounds.count == 22)
        for (stage, key) in sentiment { #expect(algorithms[stage] == key, "algorithms.yaml: \(stage)") }
        for (stage, key) in algorithms { #expect(dpoRounds[stage] == key, "dpo-rounds.yaml: \(stage)") }
        #expect(algorithmsPipeline.name == "algorithms" && algorithmsPipeline.sweep?.axes.map(\.stage) == [""])
        #expect(algorithmsPipeline.stage(named: "eval")?.inputs.first { $0.name == "policy" }?.reference == "ppo.model")
    }
}
