import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// The `ranked_samples` strategy of rm-pairs: the SFT model answers a dataset's prompts k times, any
/// reward source ranks the answers (a rule against the record's columns, or a reward model), best vs
/// worst become a pair.
@Suite(.serialized) struct RMPairsRankedSamplesTests {
    static let template = "{instruction}\n答："
    static let words = ["香港", "北京", "上海", "天津", "新华社", "国务院", "江泽民", "李鹏"]

    /// Prompt-completion records that ask for a word of a list; `reference` is the first listed word.
    static func records(_ n: Int, offset: Int) -> [DatasetRecord] {
        (0..<n).map { i in
            let listed = (0..<3).map { words[(i + offset + 3 * $0) % words.count] }
            return .promptCompletion(PromptCompletionRecord(
                fields: ["instruction": .string(listed.joined(separator: "，") + "\n第一个？"), "reference": .string(listed[0]),
                         "answers": .strings([listed[0]])],
                completion: listed[0]))
        }
    }

    /// dataset → tokenise → a barely trained SFT model (its answers vary, so they rank).
    static func upstream(seed: UInt64 = 5) throws -> (StageChain, String) {
        let data = try InstructionChainTests.dataset(.promptCompletion, ["train": records(40, offset: 0), "valid": records(8, offset: 1)])
        let c = StageChain(root: try DirectoryStageContext.temporaryDirectory("pipe-ranked-samples"), seed: seed)
        try c.run("tokens", TokeniseStage.self, inputs: ["data": data], outputs: ["tokenizer", "tokens"], with: ["vocab_size": .int(300)])
        try c.run("sft", SFTStage.self, inputs: ["data": data, "tokenizer": "tokens.tokenizer"], outputs: ["model", "metrics"],
                  with: ["n_layer": .int(1), "n_head": .int(2), "n_embd": .int(32), "block_size": .int(48), "batch_size": .int(8),
                         "steps": .int(12), "lr": .float(3e-3), "warmup_steps": .int(2), "eval_interval": .int(6), "eval_batches": .int(1),
                         "template": .string(template)])
        return (c, data)
    }

    static let ranked: [String: StageParamValue] = [
        "strategy": .string("ranked_samples"), "pairs": .int(12), "valid_fraction": .float(0.25), "k": .int(4),
        "response_tokens": .int(5), "max_tokens": .int(48), "reward_sources": .list([.string("rouge_l")]),
    ]

    static func pairs(_ c: StageChain, _ name: String) throws -> (train: [PreferencePair], valid: [PreferencePair]) {
        let dir = c.outputs[name + ".pairs"]!
        return (try PreferencePairsFile.read(dir + "/" + PreferencePairsFile.trainName),
                try PreferencePairsFile.read(dir + "/" + PreferencePairsFile.validName))
    }

    @Test func aRuleRanksTheAnswersAndBestVsWorstBecomesAPair() throws {
        let (c, data) = try Self.upstream()
        try c.run("pairs", RMPairsStage.self, inputs: ["data": data, "model": "sft.model"], outputs: ["pairs"], with: Self.ranked)
        let (train, valid) = try Self.pairs(c, "pairs")
        #expect(train.count == 9 && valid.count == 3)
        let rule = try RuleRewardSource(rule: .rougeL, column: "reference")
        for pair in train + valid {
            // One prompt, two different answers, the chosen one ranked higher.
            let prompt = Array(pair.chosen.prefix(pair.promptLength))
            #expect(prompt == Array(pair.rejected.prefix(pair.promptLength)) && pair.chosen != pair.rejected)
            let (c, r) = (try #require(pair.chosenScore), try #require(pair.rejectedScore))
            #expect(c > r)
            // The recorded scores are the rule's scores of the answers against the prompt's reference.
            let prefix = pair.chosenText.components(separatedBy: "答：")[0]
            let reference = prefix.components(separatedBy: "，")[0]
            let answers = [pair.chosenText, pair.rejectedText].map { String($0.dropFirst(prefix.count + 2)) }
            let rescored = try rule.score(prompts: ["", ""], completions: answers,
                                          columns: ["reference": [.string(reference), .string(reference)]])
            #expect(abs(Double(rescored[0]) - c) < 1e-6 && abs(Double(rescored[1]) - r) < 1e-6, "\(answers) vs \(reference)")
        }
        #expect(c.contexts["pairs"]!.series("pairs/chosen_score_mean").count == 1)
        #expect(c.contexts["pairs"]!.logLines.contains { $0.contains("ranked by rouge_l") }, "\(c.contexts["pairs"]!.logLines)")
    }

    /// The flagship's "online-ish" DPO arm: SFT answers to review openings (the `tokens` input, no
    /// dataset), ranked by the reward model, best vs worst → DPO.
    @Test func documentOpeningsRankedByTheRewardModelFeedDPO() throws {
        let c = StageChain(root: try DirectoryStageContext.temporaryDirectory("pipe-ranked-openings"), seed: 7)
        try c.run("data", DatasetStage.self, inputs: ["source": try PPOStageChainTests.corpus(reviews: 120)], outputs: ["data"],
                  with: PPOStageChainTests.labelled)
        try c.run("tokens", TokeniseStage.self, inputs: ["data": "data.data"], outputs: ["tokenizer", "tokens"], with: ["vocab_size": .int(400)])
        try c.run("sft", SFTStage.self, inputs: ["tokens": "tokens.tokens", "tokenizer": "tokens.tokenizer"], outputs: ["model", "metrics"],
                  with: ["n_layer": .int(1), "n_head": .int(2), "n_embd": .int(32), "block_size": .int(48), "batch_size": .int(8),
                         "steps": .int(20), "lr": .float(3e-3), "warmup_steps": .int(2), "eval_interval": .int(20), "eval_batches": .int(1)])
        try c.run("labelPairs", RMPairsStage.self, inputs: ["tokens": "tokens.tokens", "model": "sft.model"], outputs: ["pairs"],
                  with: ["pairs": .int(48), "max_tokens": .int(32)])
        try c.run("rm", RewardModelStage.self, inputs: ["pairs": "labelPairs.pairs", "init": "sft.model"], outputs: ["model", "metrics"],
                  with: ["batch_size": .int(8), "lr": .float(2e-3), "warmup_steps": .int(1), "epochs": .int(1)])
        try c.run("pairs", RMPairsStage.self, inputs: ["tokens": "tokens.tokens", "model": "sft.model", "reward": "rm.model"], outputs: ["pairs"],
                  with: ["strategy": .string("ranked_samples"), "pairs": .int(16), "valid_fraction": .float(0.25), "k": .int(3),
                         "prompt_tokens": .int(3), "response_tokens": .int(6), "reward_sources": .list([.string("model")])])
        let (train, valid) = try Self.pairs(c, "pairs")
        #expect(train.count == 12 && valid.count == 4)
        for pair in train + valid {
            #expect(pair.promptLength == 4)   // the separator and a 3-token opening
            #expect(Array(pair.chosen.prefix(pair.promptLength)) == Array(pair.rejected.prefix(pair.promptLength)))
            #expect(try #require(pair.chosenScore) > (try #require(pair.rejectedScore)))
        }
        try c.run("dpo", DPOStage.self, inputs: ["policy": "sft.model", "pairs": "pairs.pairs"], outputs: ["model", "metrics"],
                  with: ["batch_size": .int(4), "epochs": .int(1), "lr": .float(1e-3), "warmup_steps": .int(1)])
        #expect(!c.contexts["dpo"]!.series("train/rewards/accuracies").isEmpty)
    }

    @Test func sameSeedSameBytesForAnyThreadCount() throws {
        var files: [Data] = []
        let (c, data) = try Self.upstream()
        for threads in [1, 2, 1] {
            let context = try DirectoryStageContext(kind: "rm-pairs", params: Self.ranked, inputs: ["data": data, "model": c.outputs["sft.model"]!],
                                                    outputs: ["pairs"], root: try DirectoryStageContext.temporaryDirectory("pipe-ranked-threads"),
                                                    seed: 5, threads: threads)
            try RMPairsStage.run(context)
            files.append(FileManager.default.contents(atPath: try context.outputPath("pairs") + "/" + PreferencePairsFile.trainName) ?? Data())
        }
        #expect(!files[0].isEmpty && files[0] == files[1] && files[1] == files[2])
    }

    @Test func aRewardModelRanksTheAnswersToo() throws {
        let (c, data) = try Self.upstream()
        try c.run("rulePairs", RMPairsStage.self, inputs: ["data": data, "model": "sft.model"], outputs: ["pairs"], with: Self.ranked)
        try c.run("rm", RewardModelStage.self, inputs: ["pairs": "rulePairs.pairs", "init": "sft.model"], outputs: ["model", "metrics"],
                  with: ["batch_size": .int(4), "lr": .float(2e-3), "warmup_steps": .int(1), "epochs": .int(1)])
        var withModel = Self.ranked
        withModel["reward_sources"] = .list([.string("model")])
        try c.run("rmPairs", RMPairsStage.self, inputs: ["data": data, "model": "sft.model", "reward": "rm.model"], outputs: ["pairs"], with: withModel)
        let (train, valid) = try Self.pairs(c, "rmPairs")
        #expect(train.count == 9 && valid.count == 3)
        // The recorded scores are the reward model's scores of the pairs' own token rows.
        let rm = try ModelArtifacts.load(c.outputs["rm.model"]!, input: "reward", rewardHead: true)
        let tokenizer = try ModelArtifacts.tokenizer(in: c.outputs["sft.model"]!, input: "model")
        let source = try RewardModelSource(model: rm, pad: tokenizer.padId)
        for pair in train + valid {
            let prompt = Array(pair.chosen.prefix(pair.promptLength))
            let scores = try source.score(queries: [prompt, prompt], responses: [Array(pair.chosen.dropFirst(pair.promptLength)),
                                                                                 Array(pair.rejected.dropFirst(pair.promptLength))])
            let (c, r) = (try #require(pair.chosenScore), try #require(pair.rejectedScore))
            #expect(c > r)
            #expect(abs(Double(scores[0]) - c) < 1e-4 && abs(Double(scores[1]) - r) < 1e-4, "\(scores) vs \(c), \(r)")
        }
        // The `model` source without a `reward` input says what to wire.
        #expect(throws: StageError.self) {
            try c.run("noReward", RMPairsStage.self, inputs: ["data": data, "model": "sft.model"], outputs: ["pairs"], with: withModel)
        }
    }

    @Test func answersNoScorerTellsApartEndInAnErrorNotALoop() throws {
        let (c, data) = try Self.upstream()
        var constant = Self.ranked
        // A pattern that matches nothing scores every answer 0: all tie, no prompt gives a pair.
        constant["reward_sources"] = .list([.string("regex")])
        constant["reward_pattern"] = .string(#"[^\s\S]"#)
        do {
            try c.run("tied", RMPairsStage.self, inputs: ["data": data, "model": "sft.model"], outputs: ["pairs"], with: constant)
            Issue.record("tied answers produced pairs")
        } catch {
            #expect("\(error)".contains("raise k or temperature"), "\(error)")
        }
        // A dataset kind without prompts is named.
        let text = try InstructionChainTests.dataset(.text, ["train": [.text("香港北京")]])
        #expect(throws: StageError.self) {
            try c.run("text", RMPairsStage.self, inputs: ["data": text, "model": "sft.model"], outputs: ["pairs"], with: Self.ranked)
        }
    }
}
