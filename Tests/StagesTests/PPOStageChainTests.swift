import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// dataset (labelled) → tokenise → judge → sft → rm-pairs → rm → ppo → evaluate, in-process on a generated labelled
/// corpus, with tiny sizes (seconds in a debug build).
@Suite(.serialized) struct PPOStageChainTests {
    static let openings = ["这部电影很", "感觉", "真的很", "质量"]
    static let good = ["好", "喜欢", "满意", "推荐", "不错", "快", "值得", "开心"]
    static let bad = ["差", "失望", "退货", "垃圾", "慢", "不好", "后悔", "生气"]

    /// Writes pos.txt / neg.txt of generated reviews into a fresh directory.
    static func corpus(reviews: Int = 240) throws -> String {
        let dir = try DirectoryStageContext.temporaryDirectory("pipe-rlhf-corpus")
        var state: UInt64 = 12345
        func next(_ n: Int) -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int((state >> 33) % UInt64(n)) }
        for (file, words) in [("pos.txt", good), ("neg.txt", bad)] {
            var lines: [String] = []
            for i in 0..<reviews {
                var s = openings[next(openings.count)]
                for _ in 0..<(3 + next(5)) { s += words[next(words.count)] + (next(3) == 0 ? "，" : "") }
                lines.append(s + "。" + String(i))
            }
            try lines.joined(separator: "\n").write(toFile: dir + "/" + file, atomically: true, encoding: .utf8)
        }
        return dir
    }

    /// The dataset stage's params for the generated reviews (the flagship's labelled splits).
    static let labelled: [String: StageParamValue] = [
        "kind": .string("labelled"), "extra_splits": .list([.string("judge:0.45")]), "min_chars": .int(4), "max_chars": .int(1000),
    ]

    static let tinyPPO: [String: StageParamValue] = [
        "steps": .int(4), "batch_size": .int(8), "mini_batch_size": .int(4), "ppo_epochs": .int(2),
        "response_length": .int(6), "lr": .float(1e-3), "corpus_prompts": .int(8), "checkpoint_every": .int(2),
        "ptx_coef": .float(0.5), "ptx_batch_size": .int(2), "ptx_length": .int(16),
    ]

    /// Runs the chain up to `ppo` (and `evaluate` when asked).
    static func chain(corpus: String, seed: UInt64 = 7, evaluate: Bool = true, ppo: [String: StageParamValue] = tinyPPO) throws -> StageChain {
        let c = StageChain(root: try DirectoryStageContext.temporaryDirectory("pipe-rlhf-chain"), seed: seed)
        try c.run("data", DatasetStage.self, inputs: ["source": corpus], outputs: ["data"],
                  with: PPOStageChainTests.labelled)
        try c.run("tokens", TokeniseStage.self, inputs: ["data": "data.data"], outputs: ["tokenizer", "tokens"],
                  with: ["vocab_size": .int(500)])
        try c.run("judge", JudgeStage.self, inputs: ["data": "data.data"], outputs: ["model"], with: ["bucket_bits": .int(12)])
        try c.run("sft", SFTStage.self, inputs: ["tokens": "tokens.tokens", "tokenizer": "tokens.tokenizer"], outputs: ["model", "metrics"],
                  with: ["n_layer": .int(1), "n_head": .int(2), "n_embd": .int(32), "block_size": .int(48), "batch_size": .int(8),
                         "steps": .int(40), "lr": .float(3e-3), "warmup_steps": .int(5), "eval_interval": .int(20), "eval_batches": .int(2)])
        try c.run("pairs", RMPairsStage.self, inputs: ["tokens": "tokens.tokens", "model": "sft.model"], outputs: ["pairs"],
                  with: ["pairs": .int(96), "max_tokens": .int(32)])
        try c.run("rm", RewardModelStage.self, inputs: ["pairs": "pairs.pairs", "init": "sft.model"], outputs: ["model", "metrics"],
                  with: ["batch_size": .int(8), "lr": .float(2e-3), "warmup_steps": .int(2), "epochs": .int(3)])
        try c.run("ppo", PPOStage.self, inputs: ["policy": "sft.model", "reward": "rm.model", "tokens": "tokens.tokens"],
                  outputs: ["model", "metrics"], with: ppo)
        if evaluate {
            try c.run("eval", EvaluateStage.self, inputs: ["policy": "ppo.model", "baseline": "sft.model", "reward": "rm.model",
                                                           "judge": "judge.model", "tokens": "tokens.tokens", "pairs": "pairs.pairs"],
                      outputs: ["report"], with: ["prompts": .int(6), "samples_per_prompt": .int(1), "response_length": .int(6),
                                                  "perplexity_reviews": .int(10)])
        }
        return c
    }

    static func bytes(_ path: String) -> Data { FileManager.default.contents(atPath: path) ?? Data() }

    @Test func fullChainProducesModelsMetricsAndReport() throws {
        let c = try Self.chain(corpus: try Self.corpus())
        let fm = FileManager.default
        for file in ["config.json", "model.safetensors", "tokenizer.json"] {
            #expect(fm.fileExists(atPath: c.outputs["sft.model"]! + "/" + file))
            #expect(fm.fileExists(atPath: c.outputs["ppo.model"]! + "/" + file))
        }
        // SFT loss went down; every PPO metric is finite.
        let sftLoss = c.contexts["sft"]!.series("train/loss").map(\.value)
        #expect(sftLoss.last! < sftLoss.first!)
        let kl = c.contexts["ppo"]!.series("objective/kl")
        #expect(kl.count == 4 && kl.allSatisfy { $0.value.isFinite })
        // The RM separates positive from negative held-out pairs on this easy corpus.
        let eval = try JSONSerialization.jsonObject(with: Self.bytes(c.outputs["rm.metrics"]! + "/eval.json")) as! [String: Any]
        #expect((eval["accuracy"] as! Double) >= 0.8)
        // The report has both models and one sample line per prompt.
        let report = try JSONSerialization.jsonObject(with: Self.bytes(c.outputs["eval.report"]! + "/metrics.json")) as! [String: Any]
        for key in ["sft", "ppo", "rm", "judge", "comparison"] { #expect(report[key] != nil, "metrics.json lacks \(key)") }
        let ppo = report["ppo"] as! [String: Any]
        #expect((ppo["heldout_perplexity"] as! Double).isFinite)
        let lines = String(decoding: Self.bytes(c.outputs["eval.report"]! + "/samples.jsonl"), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 4 + 6)
    }

    @Test func sameSeedSameBytesAndResumeMatchesUninterrupted() throws {
        let corpus = try Self.corpus()
        let a = try Self.chain(corpus: corpus, evaluate: false)
        let b = try Self.chain(corpus: corpus, evaluate: false)
        for out in ["sft.model", "rm.model", "ppo.model"] {
            #expect(Self.bytes(a.outputs[out]! + "/model.safetensors") == Self.bytes(b.outputs[out]! + "/model.safetensors"), "\(out) differs")
        }
        #expect(Self.bytes(a.outputs["ppo.metrics"]! + "/metrics.jsonl") == Self.bytes(b.outputs["ppo.metrics"]! + "/metrics.jsonl"))

    }

    /// A run that stops after its checkpoint at step 2 leaves the key's resume directory as a finished
    /// run does (the last checkpoint is before the last step); a second run with that directory
    /// resumes there and must end in the same bytes as an uninterrupted run, for each trainer.
    @Test func resumeFromCheckpointMatchesUninterrupted() throws {
        let corpus = try Self.corpus()
        let a = try Self.chain(corpus: corpus, evaluate: false)
        let cases: [(String, any BuiltinStage.Type, [String: String], [String: StageParamValue])] = [
            ("sft", SFTStage.self, ["tokens": a.outputs["tokens.tokens"]!, "tokenizer": a.outputs["tokens.tokenizer"]!],
             ["n_layer": .int(1), "n_head": .int(2), "n_embd": .int(32), "block_size": .int(48), "batch_size": .int(8),
              "steps": .int(12), "lr": .float(3e-3), "warmup_steps": .int(5), "eval_interval": .int(4), "eval_batches": .int(2),
              "checkpoint_every": .int(5)]),
            ("rm", RewardModelStage.self, ["pairs": a.outputs["pairs.pairs"]!, "init": a.outputs["sft.model"]!],
             ["batch_size": .int(8), "lr": .float(2e-3), "warmup_steps": .int(2), "epochs": .int(2), "checkpoint_every": .int(7)]),
            ("ppo", PPOStage.self, ["policy": a.outputs["sft.model"]!, "reward": a.outputs["rm.model"]!, "tokens": a.outputs["tokens.tokens"]!],
             Self.tinyPPO),
            ("dpo", DPOStage.self, ["policy": a.outputs["sft.model"]!, "pairs": a.outputs["pairs.pairs"]!],
             ["batch_size": .int(8), "epochs": .int(2), "lr": .float(1e-3), "checkpoint_every": .int(7)]),
        ]
        for (kind, stage, inputs, params) in cases {
            let resume = try DirectoryStageContext.temporaryDirectory("pipe-resume-\(kind)")
            func run(_ label: String, resumeDirectory: String?) throws -> DirectoryStageContext {
                let context = try DirectoryStageContext(kind: kind, params: params, inputs: inputs, outputs: ["model", "metrics"],
                                                        root: try DirectoryStageContext.temporaryDirectory("pipe-\(kind)-\(label)"),
                                                        seed: 7, resumeDirectory: resumeDirectory)
                try stage.run(context)
                return context
            }
            let plain = try run("plain", resumeDirectory: nil)
            let first = try run("first", resumeDirectory: resume)
            let checkpoint = try #require(ResumeCheckpoints(root: resume).latest(), "\(kind) wrote no checkpoint")
            let second = try run("resumed", resumeDirectory: resume)
            #expect(second.logLines.contains { $0.contains("resuming at step \(checkpoint.step)") }, "\(kind) did not resume")
            for (output, file) in [("model", "model.safetensors"), ("metrics", "metrics.jsonl"), ("metrics", EventFileWriter.fileName)] {
                let expected = Self.bytes(try plain.outputPath(output) + "/" + file)
                #expect(Self.bytes(try first.outputPath(output) + "/" + file) == expected, "\(kind): \(file) differs with checkpoints on")
                #expect(Self.bytes(try second.outputPath(output) + "/" + file) == expected,
                        "\(kind): \(file) differs after resuming at step \(checkpoint.step)")
            }
        }
    }

    @Test func badParamsAndInputsAreClearErrors() throws {
        var params: [String: StageParamValue] = ["mini_batch_size": .int(5)]
        let root = try DirectoryStageContext.temporaryDirectory("pipe-ppo-bad")
        let ctx = try DirectoryStageContext(kind: "ppo", params: params, inputs: ["policy": root, "reward": root],
                                            outputs: ["model", "metrics"], root: root)
        #expect(throws: StageError.self) { try PPOStage.run(ctx) }
        do { try PPOStage.run(ctx) } catch { #expect("\(error)".contains("mini_batch_size")) }
        params["mini_batch_size"] = .int(16)
        params["ptx_coef"] = .float(-1)
        let negative = try DirectoryStageContext(kind: "ppo", params: params, inputs: ["policy": root, "reward": root],
                                                 outputs: ["model", "metrics"], root: root)
        do { try PPOStage.run(negative); Issue.record("a negative ptx_coef was accepted") } catch { #expect("\(error)".contains("ptx_coef")) }
    }
}
