import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// The gold scorer of ppo and grpo: measured on held-out prompts every `gold_every` steps (and at step 0
/// and after the last), logged as gold/*, and never able to change what is trained.
@Suite(.serialized) struct GoldScorerTests {
    /// dataset (labelled) → tokenise → sft on the generated corpus of `PPOStageChainTests`.
    static func upstream() throws -> StageChain {
        let c = StageChain(root: try DirectoryStageContext.temporaryDirectory("pipe-gold-chain"), seed: 7)
        try c.run("data", DatasetStage.self, inputs: ["source": try PPOStageChainTests.corpus()], outputs: ["data"],
                  with: PPOStageChainTests.labelled)
        try c.run("tokens", TokeniseStage.self, inputs: ["data": "data.data"], outputs: ["tokenizer", "tokens"],
                  with: ["vocab_size": .int(500)])
        try c.run("sft", SFTStage.self, inputs: ["tokens": "tokens.tokens", "tokenizer": "tokens.tokenizer"], outputs: ["model", "metrics"],
                  with: ["n_layer": .int(1), "n_head": .int(2), "n_embd": .int(32), "block_size": .int(48), "batch_size": .int(8),
                         "steps": .int(30), "lr": .float(3e-3), "warmup_steps": .int(5), "eval_interval": .int(30), "eval_batches": .int(1)])
        return c
    }

    static let proxy: [String: StageParamValue] = [
        "reward_sources": .list([.string("repetition_penalty"), .string("length_penalty")]), "reward_weights": .list([.float(-1), .float(0.5)]),
        "reward_repetition_ngram": .int(1), "reward_target_length": .int(4),
    ]
    static let gold: [String: StageParamValue] = [
        "gold_sources": .list([.string("repetition_penalty"), .string("length_penalty")]), "gold_repetition_ngram": .int(2),
        "gold_every": .int(2), "gold_prompts": .int(6),
    ]
    static let tinyPPO = PPOStageChainTests.tinyPPO.merging(proxy) { $1 }.merging(["ptx_coef": .float(0), "steps": .int(5)]) { $1 }
    static let tinyGRPO = GRPOStageChainTests.tinyRLOO.merging(proxy) { $1 }.merging(["steps": .int(5)]) { $1 }

    func run(_ stage: any BuiltinStage.Type, _ c: StageChain, params: [String: StageParamValue], label: String,
             inputs extra: [String: String] = [:]) throws -> DirectoryStageContext {
        let inputs = ["policy": c.outputs["sft.model"]!, "tokens": c.outputs["tokens.tokens"]!].merging(extra) { $1 }
        let context = try DirectoryStageContext(kind: stage.kind, params: params, inputs: inputs, outputs: ["model", "metrics"],
                                                root: try DirectoryStageContext.temporaryDirectory("pipe-gold-\(label)"), seed: 7)
        try stage.run(context)
        return context
    }

    static func bytes(_ path: String) -> Data { FileManager.default.contents(atPath: path) ?? Data() }
    static func text(_ path: String) -> String { String(decoding: bytes(path), as: UTF8.self) }

    static func lines(_ context: DirectoryStageContext) throws -> [[String: Any]] {
        try text(try context.outputPath("metrics") + "/metrics.jsonl").split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// With and without a gold scorer: the same model bytes, and the same training metrics (the gold run
    /// only adds gold/* keys and a step-0 line).
    func checkGoldChangesNothingTrained(_ stage: any BuiltinStage.Type, params: [String: StageParamValue]) throws {
        let c = try Self.upstream()
        let plain = try run(stage, c, params: params, label: "\(stage.kind)-plain")
        let measured = try run(stage, c, params: params.merging(Self.gold) { $1 }, label: "\(stage.kind)-gold")
        let modelFile = "/model.safetensors"
        #expect(!Self.bytes(try plain.outputPath("model") + modelFile).isEmpty)
        #expect(Self.bytes(try plain.outputPath("model") + modelFile) == Self.bytes(try measured.outputPath("model") + modelFile),
                "\(stage.kind): the gold scorer changed the trained weights")

        let plainLines = try Self.lines(plain), goldLines = try Self.lines(measured)
        #expect(plainLines.count == 5 && goldLines.count == 6, "\(stage.kind): \(goldLines.count) lines")
        // Step 0 holds the gold metrics of the SFT policy only: KL 0 against itself.
        #expect(goldLines[0]["step"] as? Int == 0 && goldLines[0].keys.allSatisfy { $0 == "step" || $0.hasPrefix("gold/") })
        #expect(goldLines[0]["gold/kl"] as? Double == 0)
        for (a, b) in zip(plainLines, goldLines.dropFirst()) {
            let trainingKeys = b.filter { !$0.key.hasPrefix("gold/") }
            #expect(NSDictionary(dictionary: a).isEqual(to: trainingKeys), "\(stage.kind) step \(a["step"] ?? "?") differs")
        }
        // Gold at steps 0, 2, 4 and after the last (5), with every key.
        let steps = goldLines.filter { $0["gold/score"] != nil }.compactMap { $0["step"] as? Int }
        #expect(steps == [0, 2, 4, 5], "\(steps)")
        for key in ["gold/score", "gold/score_std", "gold/proxy", "gold/proxy_std", "gold/kl",
                    "gold/rewards/repetition_penalty/mean", "gold/rewards/length_penalty/std"] {
            #expect(goldLines.last![key] is Double, "\(stage.kind): \(key) missing")
        }
        // TensorBoard got the same scalars.
        let events = try FileManager.default.contentsOfDirectory(atPath: try measured.outputPath("metrics")).filter { $0.hasPrefix("events.out.tfevents") }
        #expect(events.count == 1)
        let eventBytes = FileManager.default.contents(atPath: try measured.outputPath("metrics") + "/" + events[0]) ?? Data()
        #expect(eventBytes.range(of: Data("gold/score".utf8)) != nil && eventBytes.range(of: Data("gold/kl".utf8)) != nil)
        #expect(measured.logLines.contains { $0.contains("gold: repetition_penalty + length_penalty on 6 held-out prompts") }, "\(measured.logLines)")

        // The same key gives the same bytes again.
        let again = try run(stage, c, params: params.merging(Self.gold) { $1 }, label: "\(stage.kind)-gold-again")
        #expect(Self.text(try again.outputPath("metrics") + "/metrics.jsonl") == Self.text(try measured.outputPath("metrics") + "/metrics.jsonl"))
    }

    @Test func ppoGoldIsMeasuredAndNeverTrained() throws {
        try checkGoldChangesNothingTrained(PPOStage.self, params: Self.tinyPPO)
    }

    @Test func grpoGoldIsMeasuredAndNeverTrainedEvenWithoutAReference() throws {
        try checkGoldChangesNothingTrained(GRPOStage.self, params: Self.tinyGRPO)
    }

    @Test func aRunResumedWithGoldGivesTheSameBytes() throws {
        let c = try Self.upstream()
        let params = Self.tinyPPO.merging(Self.gold) { $1 }
        func ppo(_ label: String, resume: String?) throws -> DirectoryStageContext {
            let context = try DirectoryStageContext(kind: "ppo", params: params,
                                                    inputs: ["policy": c.outputs["sft.model"]!, "tokens": c.outputs["tokens.tokens"]!],
                                                    outputs: ["model", "metrics"],
                                                    root: try DirectoryStageContext.temporaryDirectory("pipe-gold-\(label)"), seed: 7,
                                                    resumeDirectory: resume)
            try PPOStage.run(context)
            return context
        }
        let resume = try DirectoryStageContext.temporaryDirectory("pipe-gold-resume")
        let plain = try ppo("plain", resume: nil)
        _ = try ppo("first", resume: resume)
        let checkpoint = try #require(ResumeCheckpoints(root: resume).latest(), "no checkpoint")
        let second = try ppo("resumed", resume: resume)
        #expect(second.logLines.contains { $0.contains("resuming at step \(checkpoint.step)") })
        #expect(!second.logLines.contains { $0.contains("step 0 (before training)") }, "a resumed run does not measure step 0 again")
        for (output, file) in [("model", "model.safetensors"), ("metrics", "metrics.jsonl"), ("metrics", EventFileWriter.fileName)] {
            #expect(!Self.bytes(try plain.outputPath(output) + "/" + file).isEmpty)
            #expect(Self.bytes(try second.outputPath(output) + "/" + file) == Self.bytes(try plain.outputPath(output) + "/" + file),
                    "\(file) differs after resuming at step \(checkpoint.step)")
        }
    }

    @Test func goldProxyIsTheTrainingRewardOnTheGoldSet() throws {
        // Gold and proxy the same sources and weights: gold/proxy and gold/score agree at every evaluation.
        let c = try Self.upstream()
        let same = Self.gold.merging(["gold_weights": .list([.float(-1), .float(0.5)]), "gold_repetition_ngram": .int(1),
                                      "gold_target_length": .int(4)]) { $1 }
        let context = try run(PPOStage.self, c, params: Self.tinyPPO.merging(same) { $1 }, label: "same")
        let lines = try Self.lines(context).filter { $0["gold/score"] != nil }
        #expect(lines.count == 4)
        for line in lines { #expect(line["gold/score"] as? Double == line["gold/proxy"] as? Double, "\(line)") }
    }

    /// Runtime errors name the gold param or input and say how to fix it.
    @Test func goldInputsAndSplitsFailClearly() throws {
        let c = try Self.upstream()
        func failure(_ params: [String: StageParamValue], inputs: [String: String] = [:], dropTokens: Bool = false) -> String {
            do {
                var all = ["policy": c.outputs["sft.model"]!].merging(inputs) { $1 }
                if !dropTokens { all["tokens"] = c.outputs["tokens.tokens"]! }
                let context = try DirectoryStageContext(kind: "ppo", params: Self.tinyPPO.merging(params) { $1 }, inputs: all,
                                                        outputs: ["model", "metrics"],
                                                        root: try DirectoryStageContext.temporaryDirectory("pipe-gold-fail"), seed: 7)
                try PPOStage.run(context)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(failure(["gold_sources": .list([.string("model")])])
                == "param 'gold_sources': lists 'model' but the `gold_reward` input (a reward model) is not wired: wire one (inputs: { gold_reward: rm.model }) or choose other sources")
        #expect(failure(["gold_sources": .list([.string("repetition_penalty")]), "gold_split": .string("judgement")])
                == "param 'gold_split': the `tokens` input has no 'judgement' split (it has: judge, test, train, valid); choose one of its held-out splits")
        #expect(failure(["gold_sources": .list([.string("command")]), "gold_command": .string("python3 ${inputs.gold_scorer}/gold.py")])
                == "param 'gold_command': uses ${inputs.gold_scorer} but the stage's `gold_scorer` input is not wired (inputs: { gold_scorer: <stage>.<output> })")
        #expect(failure(["gold_sources": .list([.string("command")]), "gold_command": .string("cat ${inputs.scorer}")])
                == "param 'gold_command': unknown reference '${inputs.scorer}': only ${inputs.gold_scorer} expands here")
        #expect(failure(["gold_sources": .list([.string("exact_match")]), "gold_column": .string("answer")])
                == "param 'gold_column': rule 'exact_match' reads the column 'answer', which this stage's prompts do not carry (they carry no columns)")
        #expect(failure(["gold_sources": .list([.string("f1")]), "classic_prompts": .list([])], dropTokens: true)
                == "param 'classic_prompts': no prompts: give `classic_prompts`, wire a `prompts` dataset, or wire `tokens` with corpus_prompts > 0")
        #expect(failure(["gold_sources": .list([.string("repetition_penalty")]), "gold_prompts": .int(3), "response_length": .int(60)])
                .hasPrefix("param 'response_length':"))
    }
}

/// Bad gold params, each with the exact message `checkParams` gives (the stage fails with it before
/// any work), for ppo and grpo alike.
struct GoldDiagnosticsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var params: [String: StageParamValue]
        var expected: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "unknown gold source", params: ["gold_sources": .list([.string("rouge")])],
             expected: "param 'gold_sources': unknown source 'rouge' (known: model, command, http, exact_match, contains, regex, f1, rouge_l, length_penalty, repetition_penalty, set_membership)"),
        Case(name: "gold source twice", params: ["gold_sources": .list([.string("f1"), .string("f1")])],
             expected: "param 'gold_sources': 'f1' is listed twice"),
        Case(name: "gold weights count", params: ["gold_sources": .list([.string("f1"), .string("rouge_l")]), "gold_weights": .list([.float(1)])],
             expected: "param 'gold_weights': 1 weights for 2 sources (f1, rouge_l): give one weight per source, or none for 1 each"),
        Case(name: "gold weights not numbers", params: ["gold_sources": .list([.string("f1")]), "gold_weights": .list([.string("one")])],
             expected: "param 'gold_weights': expected a list of numbers"),
        Case(name: "gold command empty", params: ["gold_sources": .list([.string("command")])],
             expected: "param 'gold_command': gold_sources lists 'command' but gold_command is empty: give the scorer's command line, e.g. \"python3 ${inputs.gold_scorer}/score.py\""),
        Case(name: "gold url empty", params: ["gold_sources": .list([.string("http")])],
             expected: "param 'gold_url': gold_sources lists 'http' but gold_url is empty: give the server's URL, e.g. http://127.0.0.1:5000/get_reward"),
        Case(name: "gold url https", params: ["gold_sources": .list([.string("http")]), "gold_url": .string("https://judge.example/score")],
             expected: "param 'gold_url': 'https://judge.example/score': https is not supported by the built-in client; serve the scorer on http:// (e.g. on 127.0.0.1 or inside the cluster) or put an http proxy in front of it"),
        Case(name: "gold http format", params: ["gold_sources": .list([.string("http")]), "gold_url": .string("http://127.0.0.1:1/x"), "gold_http_format": .string("trl")],
             expected: "param 'gold_http_format': 'trl' is not one of openrlhf, pipe"),
        Case(name: "gold regex", params: ["gold_sources": .list([.string("regex")]), "gold_pattern": .string("(好")],
             expected: "param 'gold_pattern': '(好' is not a valid regular expression (ICU syntax): The operation could not be completed. The value is invalid."),
        Case(name: "gold every", params: ["gold_every": .int(0)], expected: "param 'gold_every': must be ≥ 1 step"),
        Case(name: "gold prompts", params: ["gold_prompts": .int(0)], expected: "param 'gold_prompts': must be ≥ 1 prompt"),
        Case(name: "gold split", params: ["gold_split": .string("../train")],
             expected: "param 'gold_split': '../train' is not a split name (letters, digits, _ and -; e.g. valid or test)"),
        Case(name: "gold ngram", params: ["gold_repetition_ngram": .int(0)], expected: "param 'gold_repetition_ngram': must be ≥ 1"),
    ]

    @Test(arguments: cases)
    func badGoldParamsSayWhatToFix(_ c: Case) throws {
        for stage: any BuiltinStage.Type in [PPOStage.self, GRPOStage.self] {
            let params = try DirectoryStageContext.declaredParams(kind: stage.kind, overrides: c.params)
            var message = "no error"
            do { try stage.checkParams(params) } catch { message = "\(error)" }
            #expect(message == c.expected, "\(stage.kind)")
        }
    }

    @Test func noGoldByDefaultAndTheRewardParamsKeepTheirNames() throws {
        let params = try DirectoryStageContext.declaredParams(kind: "ppo", overrides: [:])
        let gold = try GoldSettings(params)
        #expect(!gold.isEnabled && gold.every == 10 && gold.prompts == 64 && gold.split == "valid")
        // The reward group's messages are unchanged by the shared code.
        let reward = try DirectoryStageContext.declaredParams(kind: "ppo", overrides: ["reward_sources": .list([.string("command")])])
        var message = ""
        do { _ = try RewardSettings(reward) } catch { message = "\(error)" }
        #expect(message == "param 'reward_command': reward_sources lists 'command' but reward_command is empty: give the scorer's command line, e.g. \"python3 ${inputs.scorer}/score.py\"")
    }
}
