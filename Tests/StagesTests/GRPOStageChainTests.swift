import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// dataset (labelled) → tokenise → sft → rm-pairs → rm → grpo, in-process on the generated corpus of
/// `PPOStageChainTests`, with tiny sizes.
@Suite(.serialized) struct GRPOStageChainTests {
    static let tinyGRPO: [String: StageParamValue] = [
        "steps": .int(4), "prompts_per_step": .int(3), "num_generations": .int(4), "response_length": .int(6),
        "lr": .float(1e-3), "corpus_prompts": .int(8), "checkpoint_every": .int(2),
    ]
    /// The general path: two passes of two minibatches, RLOO, no reference.
    static let tinyRLOO = tinyGRPO.merging(["advantage": .string("rloo"), "scale_rewards": .string("none"), "beta": .float(0),
                                            "num_iterations": .int(2), "num_mini_batches": .int(2)]) { $1 }

    /// The shared stages up to the reward model.
    static func upstream(corpus: String, seed: UInt64 = 7) throws -> StageChain {
        let c = StageChain(root: try DirectoryStageContext.temporaryDirectory("pipe-grpo-chain"), seed: seed)
        try c.run("data", DatasetStage.self, inputs: ["source": corpus], outputs: ["data"],
                  with: PPOStageChainTests.labelled)
        try c.run("tokens", TokeniseStage.self, inputs: ["data": "data.data"], outputs: ["tokenizer", "tokens"],
                  with: ["vocab_size": .int(500)])
        try c.run("sft", SFTStage.self, inputs: ["tokens": "tokens.tokens", "tokenizer": "tokens.tokenizer"], outputs: ["model", "metrics"],
                  with: ["n_layer": .int(1), "n_head": .int(2), "n_embd": .int(32), "block_size": .int(48), "batch_size": .int(8),
                         "steps": .int(40), "lr": .float(3e-3), "warmup_steps": .int(5), "eval_interval": .int(20), "eval_batches": .int(2)])
        try c.run("pairs", RMPairsStage.self, inputs: ["tokens": "tokens.tokens", "model": "sft.model"], outputs: ["pairs"],
                  with: ["pairs": .int(96), "max_tokens": .int(32)])
        try c.run("rm", RewardModelStage.self, inputs: ["pairs": "pairs.pairs", "init": "sft.model"], outputs: ["model", "metrics"],
                  with: ["batch_size": .int(8), "lr": .float(2e-3), "warmup_steps": .int(2), "epochs": .int(3)])
        return c
    }

    static func inputs(_ c: StageChain) -> [String: String] {
        ["policy": c.outputs["sft.model"]!, "reward": c.outputs["rm.model"]!, "tokens": c.outputs["tokens.tokens"]!]
    }

    static func bytes(_ path: String) -> Data { FileManager.default.contents(atPath: path) ?? Data() }

    func runGRPO(_ c: StageChain, params: [String: StageParamValue], label: String, seed: UInt64 = 7,
                 resumeDirectory: String? = nil) throws -> DirectoryStageContext {
        let context = try DirectoryStageContext(kind: "grpo", params: params, inputs: Self.inputs(c), outputs: ["model", "metrics"],
                                                root: try DirectoryStageContext.temporaryDirectory("pipe-grpo-\(label)"),
                                                seed: seed, resumeDirectory: resumeDirectory)
        try GRPOStage.run(context)
        return context
    }

    @Test func stageWritesALoadableModelAndMetrics() throws {
        let c = try Self.upstream(corpus: try PPOStageChainTests.corpus())
        let context = try runGRPO(c, params: Self.tinyGRPO, label: "plain")
        for file in ["config.json", "model.safetensors", "tokenizer.json"] {
            #expect(FileManager.default.fileExists(atPath: try context.outputPath("model") + "/" + file))
        }
        _ = try ModelArtifacts.load(try context.outputPath("model"), input: "model")
        let rewards = context.series("reward")
        #expect(rewards.count == 4 && rewards.allSatisfy { $0.value.isFinite })
        #expect(context.series("kl").count == 4)
        let lines = String(decoding: Self.bytes(try context.outputPath("metrics") + "/metrics.jsonl"), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 4)
    }

    /// With β = 0 the stage builds no reference model at all; with β > 0 it does.
    @Test func betaZeroLoadsNoReference() throws {
        let c = try Self.upstream(corpus: try PPOStageChainTests.corpus())
        func trainer(_ beta: Double) throws -> (GRPOTrainer, DirectoryStageContext) {
            let context = try DirectoryStageContext(kind: "grpo", params: Self.tinyGRPO.merging(["beta": .float(beta)]) { $1 },
                                                    inputs: Self.inputs(c), outputs: ["model", "metrics"],
                                                    root: try DirectoryStageContext.temporaryDirectory("pipe-grpo-beta"))
            return (try GRPOStage.makeTrainer(context).0, context)
        }
        let (none, noneContext) = try trainer(0)
        #expect(none.reference == nil)
        #expect(noneContext.logLines.contains { $0.contains("no reference model") })
        let (some, _) = try trainer(0.04)
        #expect(some.reference != nil)
    }

    @Test func sameSeedSameBytes() throws {
        let c = try Self.upstream(corpus: try PPOStageChainTests.corpus())
        for (label, params) in [("grpo", Self.tinyGRPO), ("rloo", Self.tinyRLOO)] {
            let a = try runGRPO(c, params: params, label: label + "-a"), b = try runGRPO(c, params: params, label: label + "-b")
            for (output, file) in [("model", "model.safetensors"), ("metrics", "metrics.jsonl")] {
                #expect(Self.bytes(try a.outputPath(output) + "/" + file) == Self.bytes(try b.outputPath(output) + "/" + file), "\(label): \(file) differs")
            }
            let other = try runGRPO(c, params: params, label: label + "-seed", seed: 8)
            #expect(Self.bytes(try a.outputPath("metrics") + "/metrics.jsonl") != Self.bytes(try other.outputPath("metrics") + "/metrics.jsonl"),
                    "\(label): another seed should sample other completions")
        }
    }

    /// As `PPOStageChainTests.resumeFromCheckpointMatchesUninterrupted`: a run that leaves its checkpoint at
    /// step 2 in the key's resume directory, then a rerun that resumes there, end in the bytes of an
    /// uninterrupted run — for GRPO and for RLOO on the general (minibatch, π_old) path.
    @Test func resumeFromCheckpointMatchesUninterrupted() throws {
        let c = try Self.upstream(corpus: try PPOStageChainTests.corpus())
        for (label, params) in [("grpo", Self.tinyGRPO), ("rloo", Self.tinyRLOO)] {
            let resume = try DirectoryStageContext.temporaryDirectory("pipe-resume-\(label)")
            let plain = try runGRPO(c, params: params, label: label + "-plain")
            let first = try runGRPO(c, params: params, label: label + "-first", resumeDirectory: resume)
            let checkpoint = try #require(ResumeCheckpoints(root: resume).latest(), "\(label) wrote no checkpoint")
            let second = try runGRPO(c, params: params, label: label + "-resumed", resumeDirectory: resume)
            #expect(second.logLines.contains { $0.contains("resuming at step \(checkpoint.step)") }, "\(label) did not resume")
            for (output, file) in [("model", "model.safetensors"), ("metrics", "metrics.jsonl"), ("metrics", EventFileWriter.fileName)] {
                let expected = Self.bytes(try plain.outputPath(output) + "/" + file)
                #expect(!expected.isEmpty)
                #expect(Self.bytes(try first.outputPath(output) + "/" + file) == expected, "\(label): \(file) differs with checkpoints on")
                #expect(Self.bytes(try second.outputPath(output) + "/" + file) == expected,
                        "\(label): \(file) differs after resuming at step \(checkpoint.step)")
            }
        }
    }

    @Test func badParamsAreClearErrors() throws {
        let root = try DirectoryStageContext.temporaryDirectory("pipe-grpo-bad")
        for (params, name) in [(["num_mini_batches": StageParamValue.int(5)], "num_mini_batches"),
                               (["advantage": .string("rloo")], "scale_rewards"),
                               (["loss_type": .string("bnpo")], "loss_type")] {
            do {
                let context = try DirectoryStageContext(kind: "grpo", params: params, inputs: ["policy": root, "reward": root],
                                                        outputs: ["model", "metrics"], root: root)
                try GRPOStage.run(context)
                Issue.record("\(params) was accepted")
            } catch { #expect("\(error)".contains(name), "\(params): \(error)") }
        }
        // Wrong inputs name the input.
        let context = try DirectoryStageContext(kind: "grpo", params: [:], inputs: ["policy": root, "reward": root],
                                                outputs: ["model", "metrics"], root: root)
        do { try GRPOStage.run(context); Issue.record("an empty policy directory was accepted") } catch {
            #expect("\(error)".contains("policy"), "\(error)")
        }
    }
}
