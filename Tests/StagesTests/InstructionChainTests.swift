import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// Datasets of every consuming kind through the stages, in-process with tiny sizes: text → tokenise →
/// SFT (pre-training); Alpaca prompt-completion → SFT with a template; a ChatGLM-style preference set →
/// rm-pairs (dataset) → rm; a prompt set with a label column → PPO. The template set on SFT travels
/// with every model after it.
@Suite(.serialized) struct InstructionChainTests {
    static let template = "问：{instruction}{#input}\n{input}{/input}\n答："
    static let reviews = ["这部电影很好看", "质量不错，推荐", "真的很失望", "垃圾，退货了", "感觉很满意", "慢，后悔买了"]

    /// Writes a dataset artifact of `kind` with `records` per split.
    static func dataset(_ kind: DatasetKind, _ splits: [String: [DatasetRecord]]) throws -> String {
        let dir = try DirectoryStageContext.temporaryDirectory("pipe-dataset-\(kind.rawValue)")
        var fields = Set<String>()
        for (split, records) in splits {
            for r in records { fields.formUnion(r.fields.keys) }
            try (records.map(\.jsonLine).joined(separator: "\n") + "\n").write(toFile: dir + "/" + split + ".jsonl", atomically: true, encoding: .utf8)
        }
        let manifest = DatasetManifest(kind: kind, splits: splits.map { ($0.key, $0.value.count) }, fields: Array(fields), sources: [])
        try manifest.json.write(toFile: dir + "/" + DatasetManifest.fileName, atomically: true, encoding: .utf8)
        return dir
    }

    static func instructions(_ n: Int, offset: Int = 0) -> [DatasetRecord] {
        (0..<n).map { i in
            let review = reviews[(i + offset) % reviews.count]
            let positive = ["好看", "推荐", "满意"].contains { review.contains($0) }
            return .promptCompletion(PromptCompletionRecord(
                fields: ["instruction": .string("判断情感"), "input": .string(review + String(i))],
                completion: positive ? "正面" : "负面"))
        }
    }

    @Test func datasetsFlowThroughTokeniseSFTPairsRMAndPPOWithTheTemplate() throws {
        let c = StageChain(root: try DirectoryStageContext.temporaryDirectory("pipe-instruct-chain"), seed: 3)
        let instruct = try Self.dataset(.promptCompletion, ["train": Self.instructions(48), "valid": Self.instructions(8, offset: 1)])
        let preference = try Self.dataset(.preference, ["train": (0..<24).map { i in
            .preference(PreferenceRecord(fields: ["instruction": .string("续写好评"), "input": .string(Self.reviews[i % 6].prefix(2) + "")],
                                         chosen: "很好，推荐", rejected: "失望，退货", margin: i % 2 == 0 ? 1 : nil))
        }, "valid": [.preference(PreferenceRecord(fields: ["instruction": .string("续写好评"), "input": .string("质量")],
                                                  chosen: "不错", rejected: "垃圾"))]])
        let prompts = try Self.dataset(.prompt, ["train": (0..<6).map { i in
            .prompt(fields: ["instruction": .string("续写好评"), "input": .string(String(Self.reviews[i].prefix(2))), "label": .string("正面")])
        }])

        // The BPE trains on the instruction data's text; no token files for prompt-completion records.
        try c.run("tokens", TokeniseStage.self, inputs: ["data": instruct], outputs: ["tokenizer", "tokens"], with: ["vocab_size": .int(300)])
        #expect(!FileManager.default.fileExists(atPath: c.outputs["tokens.tokens"]! + "/train.tok"))

        try c.run("sft", SFTStage.self, inputs: ["data": instruct, "tokenizer": "tokens.tokenizer"], outputs: ["model", "metrics"],
                  with: ["n_layer": .int(1), "n_head": .int(2), "n_embd": .int(32), "block_size": .int(32), "batch_size": .int(8),
                         "steps": .int(30), "lr": .float(3e-3), "warmup_steps": .int(2), "eval_interval": .int(10), "eval_batches": .int(1),
                         "template": .string(Self.template)])
        let sftModel = c.outputs["sft.model"]!
        #expect(try TemplateFile.load(from: sftModel)?.text == Self.template)
        let loss = c.contexts["sft"]!.series("train/loss").map(\.value)
        #expect(loss.last! < loss.first!, "the completion loss went down: \(loss)")

        // Pairs are rendered through the SFT model's stored template.
        try c.run("pairs", RMPairsStage.self, inputs: ["data": preference, "model": "sft.model"], outputs: ["pairs"],
                  with: ["strategy": .string("dataset"), "max_tokens": .int(64)])
        let pairs = try PreferencePairsFile.read(c.outputs["pairs.pairs"]! + "/" + PreferencePairsFile.trainName)
        #expect(pairs.count == 24)
        #expect(pairs[0].chosenText == "问：续写好评\n这部\n答：很好，推荐", "\(pairs[0].chosenText)")
        #expect(pairs[0].margin == 1 && pairs[1].margin == nil)
        try c.run("rm", RewardModelStage.self, inputs: ["pairs": "pairs.pairs", "init": "sft.model"], outputs: ["model", "metrics"],
                  with: ["batch_size": .int(8), "lr": .float(2e-3), "warmup_steps": .int(1), "epochs": .int(2)])

        try c.run("ppo", PPOStage.self, inputs: ["policy": "sft.model", "reward": "rm.model", "prompts": prompts], outputs: ["model", "metrics"],
                  with: ["steps": .int(2), "batch_size": .int(4), "mini_batch_size": .int(2), "ppo_epochs": .int(1),
                         "response_length": .int(4), "classic_prompts": .list([]), "corpus_prompts": .int(0), "ptx_coef": .float(0)])
        #expect(c.contexts["ppo"]!.logLines.contains { $0.contains("ppo: 6 prompts (0 fixed)") })
        #expect(try TemplateFile.load(from: c.outputs["ppo.model"]!)?.text == Self.template)

        // Evaluate on the held-out prompts of a dataset (no token files, no judge): the policy's
        // template renders them, the completions of a prompt-completion set give the perplexity.
        try c.run("eval", EvaluateStage.self, inputs: ["policy": "ppo.model", "baseline": "sft.model", "reward": "rm.model", "prompts": instruct],
                  outputs: ["report"], with: ["prompts_split": .string("valid"), "prompts": .int(4), "samples_per_prompt": .int(1),
                                              "response_length": .int(4), "classic_prompts": .list([])])
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: c.outputs["eval.report"]! + "/metrics.json"))) as! [String: Any]
        let ppo = report["ppo"] as! [String: Any], comparison = report["comparison"] as! [String: Any]
        #expect(ppo["judge_positive_rate"] == nil && ppo["heldout_perplexity"] != nil, "\(ppo)")
        #expect((comparison["rm_win_rate"] as! Double) >= 0 && (comparison["heldout_prompts"] as! Int) == 4, "\(comparison)")
        let samples = try String(contentsOfFile: c.outputs["eval.report"]! + "/samples.jsonl", encoding: .utf8)
        #expect(samples.contains("问：判断情感"), "\(samples.prefix(300))")
        try evaluateDecodings(c, prompts: instruct)
    }

    /// `decodings: [sample, greedy, beam]` adds a section per decoding and leaves the headline (sample)
    /// bytes as they are without it; greedy and beam answer once per prompt; bad lists are refused by name.
    func evaluateDecodings(_ c: StageChain, prompts instruct: String) throws {
        let base: [String: StageParamValue] = ["prompts_split": .string("valid"), "prompts": .int(4), "samples_per_prompt": .int(2),
                                               "response_length": .int(4), "classic_prompts": .list([])]
        let inputs = ["policy": "ppo.model", "baseline": "sft.model", "reward": "rm.model", "prompts": instruct]
        func metrics(_ name: String) throws -> (text: String, json: [String: Any]) {
            let data = try Data(contentsOf: URL(fileURLWithPath: c.outputs["\(name).report"]! + "/metrics.json"))
            return (String(decoding: data, as: UTF8.self), try JSONSerialization.jsonObject(with: data) as! [String: Any])
        }
        try c.run("evalSample", EvaluateStage.self, inputs: inputs, outputs: ["report"], with: base)
        let compared = try c.run("evalAll", EvaluateStage.self, inputs: inputs, outputs: ["report"], with: base.merging([
            "decodings": .list([.string("sample"), .string("greedy"), .string("beam")]), "num_beams": .int(3)]) { $1 })
        let (plain, all) = (try metrics("evalSample"), try metrics("evalAll"))
        // The headline figures are the same bytes; the decodings follow them.
        #expect(plain.text.hasSuffix("}\n") && all.text.hasPrefix(String(plain.text.dropLast(2)) + ",\"decodings\":{\"sample\":{"), "\(all.text)")
        #expect(plain.json["decodings"] == nil)
        let decodings = try #require(all.json.json("decodings"))
        for name in ["sample", "greedy", "beam"] {
            let d = try #require(decodings.json(name), "\(name)")
            let expectedSamples = name == "sample" ? 8 : 4
            #expect(d.json("sft")?["samples"] as? Int == expectedSamples && d.json("ppo")?["samples"] as? Int == expectedSamples, "\(name): \(d)")
            #expect((d.json("comparison")?["rm_win_rate"] as? Double) != nil)
            #expect(d.json("ppo")?["heldout_perplexity"] == nil)
        }
        #expect(decodings.json("beam")?["num_beams"] as? Int == 3 && decodings.json("sample")?["samples_per_prompt"] as? Int == 2)
        // The sample section repeats the headline's figures.
        #expect(decodings.json("sample")?.json("ppo")?["rm_reward_mean"] as? Double == all.json.json("ppo")?["rm_reward_mean"] as? Double)
        let log = compared.logLines.joined(separator: "\n")
        #expect(log.contains("decodings (sft → ppo)") && log.contains("  beam (3 beams, lp 1)") && log.contains("  greedy "), "\(log)")
        #expect(compared.series("decoding/beam/ppo/rm_reward_mean").count == 1)
        // samples.jsonl: each headline row as before, then the other decodings' answers to its prompt.
        let plainRows = try String(contentsOfFile: c.outputs["evalSample.report"]! + "/samples.jsonl", encoding: .utf8).split(separator: "\n")
        let allRows = try String(contentsOfFile: c.outputs["evalAll.report"]! + "/samples.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(plainRows.count == 8 && allRows.count == 8)
        for (a, b) in zip(plainRows, allRows) {
            #expect(b.hasPrefix(a.dropLast() + ",\"sft_greedy\":") && b.contains("\"ppo_beam\":") && b.contains("\"sft_beam_rm\":"), "\(b)")
        }
        let greedyRows = allRows.map { row in (try? JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any])?["sft_greedy"] as? String }
        #expect(greedyRows[0] != nil && greedyRows[0] == greedyRows[1], "both draws of a prompt sit next to its one greedy answer")

        // Beam first, answers ending at EOS: the headline is beam search.
        try c.run("evalBeam", EvaluateStage.self, inputs: inputs, outputs: ["report"], with: base.merging([
            "decodings": .list([.string("beam"), .string("greedy")]), "truncate_eos": .bool(true), "length_penalty": .float(0.5)]) { $1 })
        let beam = try metrics("evalBeam")
        #expect(beam.json.json("ppo")?["samples"] as? Int == 4 && beam.json.json("comparison")?["samples_per_prompt"] as? Int == 1, "\(beam.text)")
        #expect(beam.json.json("decodings")?.json("beam")?["length_penalty"] as? Double == 0.5)

        // A response longer than the model's context is refused by name (it was a precondition trap in generation).
        do {
            try c.run("evalLong", EvaluateStage.self, inputs: inputs, outputs: ["report"], with: base.merging(["response_length": .int(65536)]) { $1 })
            Issue.record("response_length 65536 was generated")
        } catch let StageError.badParam(name, message) {
            #expect(name == "response_length" && message.hasPrefix("prompt (") && message.hasSuffix(" + response (65536) exceeds the policy's n_positions (32)"), "\(message)")
        }
        for (list, message) in [([StageParamValue.string("sample"), .string("sample")], "'sample' is listed twice; list each decoding once"),
                                ([.string("nucleus")], "unknown decoding 'nucleus'; use sample, greedy or beam"),
                                ([], "list at least one of sample, greedy, beam")] {
            #expect(throws: StageError.badParam("decodings", message)) {
                try c.run("evalBad", EvaluateStage.self, inputs: inputs, outputs: ["report"], with: base.merging(["decodings": .list(list)]) { $1 })
            }
        }
    }

    @Test func textDatasetsPretrainAsPackedDocuments() throws {
        let c = StageChain(root: try DirectoryStageContext.temporaryDirectory("pipe-pretrain-chain"), seed: 3)
        let text = try Self.dataset(.text, ["train": (0..<40).map { .text(Self.reviews[$0 % 6] + String($0)) },
                                            "valid": [.text("感觉很好")]])
        try c.run("tokens", TokeniseStage.self, inputs: ["data": text], outputs: ["tokenizer", "tokens"], with: ["vocab_size": .int(300)])
        #expect(FileManager.default.fileExists(atPath: c.outputs["tokens.tokens"]! + "/train.tok"))
        try c.run("sft", SFTStage.self, inputs: ["data": text, "tokenizer": "tokens.tokenizer"], outputs: ["model", "metrics"],
                  with: ["n_layer": .int(1), "n_head": .int(2), "n_embd": .int(32), "block_size": .int(16), "batch_size": .int(4),
                         "steps": .int(10), "warmup_steps": .int(1), "eval_interval": .int(5), "eval_batches": .int(1)])
        #expect(c.contexts["sft"]!.series("valid/loss").count == 2)
        // A context far beyond memory (block_size within its declared range) is refused before training, not an abort.
        do {
            try c.run("sftHuge", SFTStage.self, inputs: ["data": text, "tokenizer": "tokens.tokenizer"], outputs: ["model", "metrics"],
                      with: ["n_layer": .int(1), "n_head": .int(2), "n_embd": .int(32), "block_size": .int(1 << 20), "batch_size": .int(4), "steps": .int(1)])
            Issue.record("block_size 1048576 trained")
        } catch let StageError.badParam(name, message) {
            #expect(name == "batch_size")
            #expect(message.hasPrefix("batch_size 4 × block_size 1048576: a pass of 4 × 1048576 tokens needs 44003.3 GB of activations besides 0.3 GB of weights and gradients, more than the "), "\(message)")
            #expect(message.hasSuffix(" GB of memory available; lower them"), "\(message)")
        }
        // Both token files and a dataset is an error naming the choice.
        #expect(throws: StageError.badInput("tokens", "give exactly one of `tokens` (token files) and `data` (a dataset)")) {
            try c.run("sft2", SFTStage.self, inputs: ["data": text, "tokens": "tokens.tokens", "tokenizer": "tokens.tokenizer"],
                      outputs: ["model", "metrics"], with: ["steps": .int(1)])
        }
        // A preference dataset cannot be SFT data.
        let preference = try Self.dataset(.preference, ["train": [.preference(PreferenceRecord(fields: [:], chosen: "a", rejected: "b"))]])
        #expect(throws: StageError.badInput("data", "dataset kind 'preference' cannot be used here (expected 'text' or 'labelled' or 'prompt-completion'; set `kind:` on the dataset stage)")) {
            try c.run("sft3", SFTStage.self, inputs: ["data": preference, "tokenizer": "tokens.tokenizer"], outputs: ["model", "metrics"], with: ["steps": .int(1)])
        }
    }

    @Test func aTemplateFieldTheRecordsLackNamesTheRecord() throws {
        let c = StageChain(root: try DirectoryStageContext.temporaryDirectory("pipe-template-error"), seed: 3)
        let data = try Self.dataset(.promptCompletion, ["train": Self.instructions(4)])
        try c.run("tokens", TokeniseStage.self, inputs: ["data": data], outputs: ["tokenizer", "tokens"], with: ["vocab_size": .int(270)])
        #expect(throws: StageError.failed("train.jsonl record 1: template: the record has no field `question` (its fields: input, instruction); map a column to it in the dataset stage or change the template")) {
            try c.run("sft", SFTStage.self, inputs: ["data": data, "tokenizer": "tokens.tokenizer"], outputs: ["model", "metrics"],
                      with: ["steps": .int(1), "template": .string("{question}")])
        }
    }
}

extension InstructionChainTests {
    /// Masked prompt-completion SFT is sharded like document SFT: the same bytes for any thread count.
    @Test func promptCompletionSFTGivesTheSameBytesForAnyThreadCount() throws {
        let data = try Self.dataset(.promptCompletion, ["train": Self.instructions(40)])
        var models: [Data] = []
        for threads in [1, 3] {
            let c = StageChain(root: try DirectoryStageContext.temporaryDirectory("pipe-instruct-threads"), seed: 5, threads: threads)
            try c.run("tokens", TokeniseStage.self, inputs: ["data": data], outputs: ["tokenizer", "tokens"], with: ["vocab_size": .int(280)])
            try c.run("sft", SFTStage.self, inputs: ["data": data, "tokenizer": "tokens.tokenizer"], outputs: ["model", "metrics"],
                      with: ["n_layer": .int(1), "n_head": .int(2), "n_embd": .int(16), "block_size": .int(24), "batch_size": .int(12),
                             "steps": .int(4), "warmup_steps": .int(1), "template": .string(Self.template)])
            models.append(FileManager.default.contents(atPath: c.outputs["sft.model"]! + "/model.safetensors") ?? Data())
        }
        #expect(!models[0].isEmpty && models[0] == models[1])
    }
}

private extension Dictionary where Key == String, Value == Any {
    func json(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }
}
