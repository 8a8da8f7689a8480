import Foundation
import Models
import Tensor

/// Step time of the SFT, reward-model and PPO trainers at several thread counts (the body of
/// `pipe bench scaling`). Every thread count gets its own trainer on the same seed, so they do the
/// same work step for step (threads never change bytes); their steps are interleaved round by round,
/// so outside load hits every thread count alike, and the medians are compared.
public enum ScalingBenchmark {
    public enum Workload: String, CaseIterable, Sendable {
        case sft, rm, ppo
    }

    public struct Row: Sendable {
        public var workload: Workload
        public var config: String
        /// Thread count → median seconds per step.
        public var seconds: [Int: Double]
        public var shape: String
        /// Whether every thread count ended with bitwise the same weights (it must).
        public var sameBytes: Bool
    }

    /// The model shapes: the `pipe bench gpt` configs (S: 4.7 M parameters, M: 22 M).
    public static func model(_ name: String) -> GPTConfig? {
        switch name.uppercased() {
        case "S": return .benchmarkS
        case "M": return .benchmarkM
        default: return nil
        }
    }

    /// - Parameter declared: the declared params of `sft`, `rm` and `ppo` (stages/*.yaml), by kind.
    public static func run(_ workload: Workload, config name: String, threads: [Int], steps: Int,
                           declared: [String: StageParams], log: (String) -> Void = { _ in }) throws -> Row {
        guard let config = model(name) else { throw StageError.failed("unknown config \(name) (use S or M)") }
        var trainers: [(threads: Int, trainer: Trainer, model: GPTModel)] = []
        var shape = ""
        for count in threads {
            let (trainer, model, description) = try make(workload, config: config, threads: count, declared: declared)
            trainers.append((count, trainer, model))
            shape = description
        }
        log("\(workload.rawValue) \(name): \(shape); 1 warm-up + \(steps) timed steps per thread count, interleaved")
        for entry in trainers { _ = try entry.trainer.trainStep() }
        var times = [[Double]](repeating: [], count: trainers.count)
        for _ in 0..<steps {
            for (i, entry) in trainers.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try entry.trainer.trainStep()
                times[i].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
        }
        var seconds: [Int: Double] = [:]
        for (i, entry) in trainers.enumerated() { seconds[entry.threads] = PPOBenchmark.median(times[i]) }
        let reference = trainers[0].model.parameters.buffer
        let same = trainers.allSatisfy { $0.model.parameters.buffer.elementsEqual(reference) { $0.bitPattern == $1.bitPattern } }
        return Row(workload: workload, config: name.uppercased(), seconds: seconds, shape: shape, sameBytes: same)
    }

    static func make(_ workload: Workload, config: GPTConfig, threads: Int,
                     declared: [String: StageParams]) throws -> (Trainer, GPTModel, String) {
        func params(_ kind: String, _ overrides: [String: StageParamValue]) throws -> StageParams {
            guard var p = declared[kind] else { throw StageError.failed("no declared params for \(kind)") }
            for (name, value) in overrides { p.values[name] = value }
            return p
        }
        let pool = WorkerPool(threads: threads)
        var random = RandomStream(seed: 11, stream: 0)
        func tokens(_ count: Int) -> [Int32] { (0..<count).map { _ in Int32(1 + random.nextInt(below: config.vocabSize - 1)) } }
        // Training shapes of `pipe bench gpt`: S 16 × 128 tokens, M 8 × 256.
        let rows = config.maxPositions >= 256 ? 8 : 16, time = config.maxPositions
        switch workload {
        case .sft:
            let sft = try SFTConfig(params("sft", ["batch_size": .int(Int64(rows)), "block_size": .int(Int64(time)),
                                                   "steps": .int(1000), "warmup_steps": .int(0)]))
            let model = try GPTModel(config: config, seed: 1)
            let documents = (0..<256).map { _ in tokens(time / 2) }
            let trainer = SFTTrainer(config: sft, model: model,
                                     train: try DocumentBatcher(documents: documents, separator: 0, blockSize: time),
                                     valid: nil, seed: 2, pool: pool)
            return (trainer, model, "\(rows) × \(time) tokens per step")
        case .rm:
            var rewardConfig = config
            rewardConfig.rewardHead = true
            let pairs = (0..<256).map { _ in
                PreferencePair(chosen: tokens(time / 2), rejected: tokens(time / 2), promptLength: 0, chosenText: "", rejectedText: "")
            }
            let rm = try RewardTrainingConfig(params("rm", ["batch_size": .int(16), "warmup_steps": .int(0)]))
            let trainer = RewardTrainer(config: rm, model: try GPTModel(config: rewardConfig, seed: 1), pad: 0, pairs: pairs,
                                        heldOut: [], seed: 2, pool: pool)
            return (trainer, trainer.model, "16 pairs × 2 × \(time / 2) tokens per step")
        case .ppo:
            var policyConfig = config, rewardConfig = config
            policyConfig.valueHead = true
            rewardConfig.rewardHead = true
            let policy = try GPTModel(config: policyConfig, seed: 1)
            var ppo = try PPOConfig(params("ppo", [:]))
            ppo.batchSize = 64; ppo.miniBatchSize = 16; ppo.ppoEpochs = 4; ppo.responseLength = 16
            ppo.earlyStopping = false
            ppo.initKLCoef = 0.05; ppo.adaptiveKL = false
            let trainer = try PPOTrainer(config: ppo, policy: policy, reference: GPTModel(copying: policy),
                                         reward: try RewardScorer.model(try GPTModel(config: rewardConfig, seed: 2), pad: 0, pool: pool),
                                         prompts: (0..<256).map { _ in tokens(16) }, eos: 0, pad: 0, seed: 4, pool: pool)
            return (trainer, policy, "64 queries × 16 tokens, 16-token responses, 4 epochs × 4 minibatches of 16")
        }
    }
}
