import PipeTestSupport
import Models
import Tensor
import Testing
@testable import Stages

/// GRPO and RLOO on the synthetic world of `SyntheticReviews`: an SFT model of both classes, a reward
/// model that prefers positive-pool tokens; the critic-free trainers should move the policy towards them.
@Suite struct GRPOTrainerTests {
    /// The SFT model and reward model of the synthetic world (deterministic in `seed`).
    static func sftAndReward(seed: UInt64) throws -> (sft: GPTModel, reward: GPTModel) {
        let (docs, labels) = SyntheticReviews.documents(count: 200, seed: 1)
        let sftConfig = try SFTConfig(DirectoryStageContext.declaredParams(kind: "sft", overrides: [
            "block_size": .int(16), "batch_size": .int(8), "steps": .int(60), "lr": .float(1e-2),
            "warmup_steps": .int(5), "weight_decay": .float(0)]))
        let sft = try GPTModel(config: SyntheticReviews.tinyConfig(), seed: seed)
        let trainer = SFTTrainer(config: sftConfig, model: sft,
                                 train: try DocumentBatcher(documents: docs, separator: 0, blockSize: 16), valid: nil, seed: seed)
        for _ in 0..<sftConfig.steps { _ = try trainer.trainStep() }
        let pairs = SyntheticReviews.preferencePairs(docs, labels)
        let rmTrainer = try SyntheticReviews.rewardTrainer(from: sft, pairs: Array(pairs.prefix(80)), seed: seed)
        while rmTrainer.step < rmTrainer.totalSteps { _ = try rmTrainer.trainStep() }
        return (sft, rmTrainer.model)
    }

    static let prompts: [[Int32]] = [[0], [0, 3], [0, 9], [0, 2, 8]]

    func run(seed: UInt64, steps: Int, overrides: [String: StageParamValue]) throws
        -> (rewards: [Double], share: (before: Double, after: Double), weights: [Float], metrics: [[(String, Double)]])
    {
        let (sft, rm) = try Self.sftAndReward(seed: seed)
        var params: [String: StageParamValue] = [
            "prompts_per_step": .int(4), "num_generations": .int(4), "response_length": .int(6), "lr": .float(3e-3),
            "steps": .int(Int64(steps)),
        ]
        params.merge(overrides) { $1 }
        let config = try GRPOConfig(DirectoryStageContext.declaredParams(kind: "grpo", overrides: params))
        let policy = GPTModel(copying: sft)
        let trainer = try GRPOTrainer(config: config, policy: policy, reference: config.beta > 0 ? GPTModel(copying: sft) : nil,
                                      reward: try RewardScorer.model(rm, pad: 0), prompts: Self.prompts,
                                      eos: 0, pad: 0, seed: seed)
        var probe = RandomStream(seed: 99, stream: 1)
        let before = ResponseSampler.sample(policy, queries: Array(repeating: [0], count: 32), length: 6, temperature: 1, pad: 0, random: &probe)
        var rewards: [Double] = [], all: [[(String, Double)]] = []
        for _ in 0..<steps {
            let m = try trainer.trainStep()
            for (name, v) in m { #expect(v.isFinite, "\(name) = \(v)") }
            rewards.append(m.first { $0.0 == "reward" }!.1)
            all.append(m)
        }
        probe = RandomStream(seed: 99, stream: 1)
        let after = ResponseSampler.sample(policy, queries: Array(repeating: [0], count: 32), length: 6, temperature: 1, pad: 0, random: &probe)
        return (rewards, (SyntheticReviews.positiveShare(before), SyntheticReviews.positiveShare(after)), policy.parameters.array, all)
    }

    func expectRewardRises(_ r: (rewards: [Double], share: (before: Double, after: Double), weights: [Float], metrics: [[(String, Double)]]),
                           _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        // Step 1 scores the SFT policy's samples; the RM's scale here is about −0.1 (mixed) to 0.75 (all positive).
        let start = r.rewards[0], late = r.rewards.suffix(3).reduce(0, +) / 3
        #expect(late > start + 0.3, "\(what): reward \(r.rewards)", sourceLocation: sourceLocation)
        #expect(r.share.after > r.share.before + 0.3, "\(what): positive-token share \(r.share)", sourceLocation: sourceLocation)
    }

    @Test func grpoRaisesTheMeanReward() throws {
        let r = try run(seed: 5, steps: 15, overrides: [:])
        expectRewardRises(r, "grpo")
        let names = r.metrics[0].map(\.0)
        for name in ["reward", "reward_std", "frac_reward_zero_std", "kl", "clip_ratio/region_mean", "entropy",
                     "completions/mean_length", "loss", "grad_norm", "lr"] {
            #expect(names.contains(name), "metric \(name) missing")
        }
    }

    @Test func rlooRaisesTheMeanReward() throws {
        let r = try run(seed: 5, steps: 15, overrides: ["advantage": .string("rloo"), "scale_rewards": .string("none")])
        expectRewardRises(r, "rloo")
    }

    /// Two passes of two shuffled minibatches (π_old from a separate pass, ratios ≠ 1, clipping live),
    /// β = 0, the grpo normalisation and EOS truncation.
    @Test func generalPathWithoutReferenceRaisesTheMeanReward() throws {
        let r = try run(seed: 6, steps: 12, overrides: ["num_iterations": .int(2), "num_mini_batches": .int(2), "beta": .float(0),
                                                        "loss_type": .string("grpo"), "truncate_eos": .bool(true),
                                                        "epsilon_high": .float(0.28)])
        expectRewardRises(r, "num_iterations 2")
        #expect(r.metrics.allSatisfy { m in !m.contains { $0.0 == "kl" } }, "kl is logged only when beta > 0")
        #expect(r.metrics.contains { m in m.first { $0.0 == "clip_ratio/region_mean" }!.1 > 0 }, "a second pass should clip somewhere")
    }

    @Test func betaZeroTakesNoReferenceAndBetaNeedsOne() throws {
        let (sft, rm) = try Self.sftAndReward(seed: 2)
        let zero = try GRPOConfig(DirectoryStageContext.declaredParams(kind: "grpo", overrides: ["beta": .float(0)]))
        let positive = try GRPOConfig(DirectoryStageContext.declaredParams(kind: "grpo", overrides: [:]))
        let source = try RewardScorer.model(rm, pad: 0)
        #expect(throws: StageError.self) {
            try GRPOTrainer(config: positive, policy: GPTModel(copying: sft), reference: nil, reward: source, prompts: Self.prompts, eos: 0, pad: 0, seed: 1)
        }
        #expect(throws: StageError.self) {
            try GRPOTrainer(config: zero, policy: GPTModel(copying: sft), reference: GPTModel(copying: sft), reward: source, prompts: Self.prompts, eos: 0, pad: 0, seed: 1)
        }
    }

    @Test func sameSeedSameWeights() throws {
        let a = try run(seed: 3, steps: 2, overrides: ["num_iterations": .int(2), "num_mini_batches": .int(2)])
        let b = try run(seed: 3, steps: 2, overrides: ["num_iterations": .int(2), "num_mini_batches": .int(2)])
        #expect(a.weights == b.weights)
        #expect(a.rewards == b.rewards)
    }
}
