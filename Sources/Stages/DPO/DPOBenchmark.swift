import Foundation
import Models
import Tensor

/// One DPO step on config S (16 pairs: prompts of 16 tokens, chosen and rejected completions of 16
/// tokens, so 32 rows through the policy; loss sigmoid, one optimiser step), timed with the reference
/// forward done in the step (TRL's default) and with it precomputed (pipe's default on the CPU); the body
/// of `pipe bench dpo`. Random weights and tokens: the timing does not depend on them.
public enum DPOBenchmark {
    public struct Figures: Codable, Sendable {
        /// Seconds of one step with the reference forward in it.
        public var step: Double
        /// Seconds of one step when the reference log-probs were computed once before training.
        public var stepPrecomputed: Double

        enum CodingKeys: String, CodingKey { case step = "step_s", stepPrecomputed = "step_precomputed_s" }
    }

    public static func run(steps: Int, declared: StageParams, config base: GPTConfig = .benchmarkS, threads: Int = 1) throws -> Figures {
        var random = RandomStream(seed: 3, stream: 0)
        func tokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(1 + random.nextInt(below: base.vocabSize - 1)) } }
        let pairs = (0..<(16 * (steps + 1))).map { _ -> CompletionPair in
            let prompt = tokens(16)
            return CompletionPair(PreferencePair(chosen: prompt + tokens(16), rejected: prompt + tokens(16), promptLength: 16,
                                                 chosenText: "", rejectedText: ""), maxLength: 64)!
        }
        var config = try DPOConfig(declared)
        config.batchSize = 16; config.epochs = 1
        func time(precompute: Bool) throws -> Double {
            config.precomputeReference = precompute
            let policy = try GPTModel(config: base, seed: 1)
            let trainer = try DPOTrainer(config: config, policy: policy, reference: GPTModel(copying: policy), pairs: pairs,
                                         heldOut: [], pad: 0, seed: 4, pool: WorkerPool(threads: threads))
            _ = try trainer.trainStep()   // warm-up: allocations, arena growth
            var seconds: [Double] = []
            for _ in 0..<steps {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try trainer.trainStep()
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return PPOBenchmark.median(seconds)
        }
        return Figures(step: try time(precompute: false), stepPrecomputed: try time(precompute: true))
    }
}
