import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// The reward params through the real stages, in-process: grpo, ppo and evaluate with weighted
/// sources log each source, the default (`model` alone) adds nothing to the outputs, and a stage
/// missing what its sources need fails before training with the fix in the message.
@Suite(.serialized) struct RewardStageTests {
    static func upstream() throws -> StageChain {
        let c = try GRPOStageChainTests.upstream(corpus: try PPOStageChainTests.corpus())
        try c.run("judge", JudgeStage.self, inputs: ["data": "data.data"], outputs: ["model"], with: ["bucket_bits": .int(12)])
        return c
    }

    static let weighted: [String: StageParamValue] = [
        "reward_sources": .list([.string("model"), .string("repetition_penalty"), .string("length_penalty")]),
        "reward_weights": .list([.int(1), .float(0.5), .float(0.25)]),
        "reward_target_length": .int(4),
    ]

    @Test func grpoPPOAndEvaluateLogEachWeightedSource() throws {
        let c = try Self.upstream()
        let grpo = try DirectoryStageContext(kind: "grpo", params: GRPOStageChainTests.tinyGRPO.merging(Self.weighted) { $1 },
                                             inputs: GRPOStageChainTests.inputs(c), outputs: ["model", "metrics"],
                                             root: try DirectoryStageContext.temporaryDirectory("pipe-reward-grpo"))
        try GRPOStage.run(grpo)
        for name in ["model", "repetition_penalty", "length_penalty"] {
            #expect(grpo.series("rewards/\(name)/mean").count == 4, "\(name)")
            #expect(grpo.series("rewards/\(name)/std").allSatisfy { $0.value >= 0 && $0.value.isFinite })
        }
        #expect(grpo.series("rewards/repetition_penalty/mean").allSatisfy { (-1...0).contains($0.value) })
        #expect(grpo.series("rewards/model/nondeterministic").isEmpty, "the reward model is deterministic by construction")
        #expect(grpo.logLines.contains("reward: model + 0.5·repetition_penalty + 0.25·length_penalty"), "\(grpo.logLines)")
        // reward = Σ w·source, step by step.
        let reward = grpo.series("reward"), model = grpo.series("rewards/model/mean")
        let repetition = grpo.series("rewards/repetition_penalty/mean"), length = grpo.series("rewards/length_penalty/mean")
        for i in 0..<4 {
            let sum = model[i].value + 0.5 * repetition[i].value + 0.25 * length[i].value
            #expect(abs(reward[i].value - sum) < 1e-5, "step \(i): \(reward[i].value) vs \(sum)")
        }

        let ppo = try DirectoryStageContext(kind: "ppo", params: PPOStageChainTests.tinyPPO.merging(Self.weighted) { $1 },
                                            inputs: GRPOStageChainTests.inputs(c), outputs: ["model", "metrics"],
                                            root: try DirectoryStageContext.temporaryDirectory("pipe-reward-ppo"))
        try PPOStage.run(ppo)
        #expect(ppo.series("rewards/length_penalty/mean").count == ppo.series("objective/scores").count)
        let raw = ppo.series("objective/rm_score_raw"), ppoModel = ppo.series("rewards/model/mean")
        #expect(!raw.isEmpty && zip(raw, ppoModel).allSatisfy { $0.value != $1.value }, "the raw score is the weighted sum, not the RM alone")

        let evaluate = try DirectoryStageContext(kind: "evaluate", params: ["prompts": .int(6), "samples_per_prompt": .int(1),
                                                                              "response_length": .int(6), "perplexity_reviews": .int(10)]
                                                     .merging(Self.weighted) { $1 },
                                                 inputs: ["policy": try ppo.outputPath("model"), "baseline": c.outputs["sft.model"]!,
                                                          "reward": c.outputs["rm.model"]!, "judge": c.outputs["judge.model"]!,
                                                          "tokens": c.outputs["tokens.tokens"]!, "pairs": c.outputs["pairs.pairs"]!],
                                                 outputs: ["report"], root: try DirectoryStageContext.temporaryDirectory("pipe-reward-eval"))
        try EvaluateStage.run(evaluate)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try evaluate.outputPath("report") + "/metrics.json"))) as? [String: Any])
        let sources = try #require((report["ppo"] as? [String: Any])?["reward_sources"] as? [String: Double], "\(report)")
        #expect(Set(sources.keys) == ["model", "repetition_penalty", "length_penalty"])
        #expect(report["rm"] != nil, "the reward model is listed: pair accuracy is reported")
        #expect(evaluate.series("ppo/rewards/length_penalty/mean").count == 1)
    }

    @Test func defaultModelSourceAddsNothingToTheOutputs() throws {
        let c = try Self.upstream()
        let grpo = try DirectoryStageContext(kind: "grpo", params: GRPOStageChainTests.tinyGRPO, inputs: GRPOStageChainTests.inputs(c),
                                             outputs: ["model", "metrics"], root: try DirectoryStageContext.temporaryDirectory("pipe-reward-default"))
        try GRPOStage.run(grpo)
        let metrics = String(decoding: GRPOStageChainTests.bytes(try grpo.outputPath("metrics") + "/metrics.jsonl"), as: UTF8.self)
        #expect(!metrics.contains("rewards/"), "one source: no per-source metrics")
    }

    @Test func stagesFailBeforeTrainingWhenTheirSourcesLackSomething() throws {
        let c = try Self.upstream()
        func failure(_ kind: String, _ params: [String: StageParamValue], inputs: [String: String]) throws -> String {
            let context = try DirectoryStageContext(kind: kind, params: params, inputs: inputs, outputs: ["model", "metrics"],
                                                    root: try DirectoryStageContext.temporaryDirectory("pipe-reward-fail"))
            do {
                if kind == "ppo" { try PPOStage.run(context) } else { try GRPOStage.run(context) }
                return "no error"
            } catch { return "\(error)" }
        }
        let noReward = ["policy": c.outputs["sft.model"]!, "tokens": c.outputs["tokens.tokens"]!]
        #expect(try failure("ppo", PPOStageChainTests.tinyPPO, inputs: noReward)
                    .contains("lists 'model' but the `reward` input (a reward model) is not wired"))
        #expect(try failure("grpo", GRPOStageChainTests.tinyGRPO.merging(["reward_sources": .list([.string("exact_match")])]) { $1 }, inputs: noReward)
                    .contains("reads the column 'reference', which this stage's prompts do not carry (they carry no columns)"))
        // Rules alone need no reward model.
        #expect(try failure("grpo", GRPOStageChainTests.tinyGRPO.merging(["reward_sources": .list([.string("repetition_penalty")])]) { $1 },
                            inputs: noReward) == "no error")
    }
}
