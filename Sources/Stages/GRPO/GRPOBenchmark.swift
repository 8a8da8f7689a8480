import Foundation
import Models
import Tensor

/// One GRPO step on config S (16 prompts of 16 tokens × G = 8 completions of 16 tokens, β = 0.04 so the
/// reference pass is in, one iteration: one optimiser step), timed by phase; the body of `pipe bench grpo`.
/// Random weights: the timing does not depend on them.
public enum GRPOBenchmark {
    public typealias Figures = PPOBenchmark.Figures

    /// Medians over `steps` timed steps after one warm-up step; `declared` are the grpo stage's declared
    /// params (stages/grpo.yaml), set here to the benchmark's fixed shape; `threads` workers.
    public static func run(steps: Int, declared: StageParams, config base: GPTConfig = .benchmarkS, threads: Int = 1) throws -> Figures {
        var rewardConfig = base
        rewardConfig.rewardHead = true
        let policy = try GPTModel(config: base, seed: 1)
        let reference = GPTModel(copying: policy)
        let reward = try GPTModel(config: rewardConfig, seed: 2)
        var random = RandomStream(seed: 3, stream: 0)
        let prompts = (0..<256).map { _ in (0..<16).map { _ in Int32(random.nextInt(below: base.vocabSize)) } }
        var config = try GRPOConfig(declared)
        config.promptsPerStep = 16; config.numGenerations = 8; config.responseLength = 16
        config.numIterations = 1; config.numMiniBatches = 1; config.beta = 0.04; config.truncateEOS = false
        let trainer = try GRPOTrainer(config: config, policy: policy, reference: reference,
                                      reward: try RewardScorer.model(reward, pad: 0, pool: WorkerPool(threads: threads)),
                                      prompts: prompts, eos: 0, pad: 0, seed: 4, pool: WorkerPool(threads: threads))
        _ = try trainer.trainStep()   // warm-up: allocations, arena growth
        var samples: [GRPOTrainer.PhaseTimings] = []
        for _ in 0..<steps {
            _ = try trainer.trainStep()
            samples.append(trainer.timings)
        }
        return Figures(generate: PPOBenchmark.median(samples.map(\.generate)), score: PPOBenchmark.median(samples.map(\.score)),
                       update: PPOBenchmark.median(samples.map(\.update)), total: PPOBenchmark.median(samples.map(\.total)))
    }
}
