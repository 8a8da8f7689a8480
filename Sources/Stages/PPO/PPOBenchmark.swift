import Foundation
import Models
import Tensor

/// One PPO step on config S (64 queries × 16 tokens, 16-token responses, 4 epochs × 4 minibatches of 16),
/// timed by phase; the body of `pipe bench ppo`. Random weights: the timing does not depend on them.
public enum PPOBenchmark {
    public struct Figures: Sendable, Codable {
        public var generate, score, update, total: Double
        public init(generate: Double, score: Double, update: Double, total: Double) {
            self.generate = generate; self.score = score; self.update = update; self.total = total
        }
        enum CodingKeys: String, CodingKey { case generate = "generate_s", score = "score_s", update = "update_s", total = "total_s" }
    }

    /// Medians over `steps` timed steps after one warm-up step; `declared` are the ppo stage's declared
    /// params (stages/ppo.yaml), adjusted here to the benchmark's fixed shape; `threads` workers, as a
    /// stage given that many threads runs (the same bytes for any number).
    public static func run(steps: Int, declared: StageParams, config base: GPTConfig = .benchmarkS, threads: Int = 1) throws -> Figures {
        var policyConfig = base
        policyConfig.valueHead = true
        var rewardConfig = base
        rewardConfig.rewardHead = true
        let policy = try GPTModel(config: policyConfig, seed: 1)
        let reference = GPTModel(copying: policy)
        let reward = try GPTModel(config: rewardConfig, seed: 2)
        var random = RandomStream(seed: 3, stream: 0)
        let prompts = (0..<256).map { _ in (0..<16).map { _ in Int32(random.nextInt(below: base.vocabSize)) } }
        var config = try PPOConfig(declared)
        config.batchSize = 64; config.miniBatchSize = 16; config.ppoEpochs = 4; config.responseLength = 16
        config.earlyStopping = false   // always all 4 epochs, as the reference loop
        config.initKLCoef = 0.05; config.adaptiveKL = false
        let pool = WorkerPool(threads: threads)
        let trainer = try PPOTrainer(config: config, policy: policy, reference: reference,
                                     reward: try RewardScorer.model(reward, pad: 0, pool: pool),
                                     prompts: prompts, eos: 0, pad: 0, seed: 4, pool: pool)
        _ = try trainer.trainStep()   // warm-up: allocations, arena growth
        var samples: [PPOTrainer.PhaseTimings] = []
        for _ in 0..<steps {
            _ = try trainer.trainStep()
            samples.append(trainer.timings)
        }
        return Figures(generate: median(samples.map(\.generate)), score: median(samples.map(\.score)),
                       update: median(samples.map(\.update)), total: median(samples.map(\.total)))
    }

    public static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
    }
}
