import Foundation
import PipeTestSupport
import Models
import Tensor
import Testing
@testable import Stages

/// Threads never change bytes: SFT, the reward model and PPO (generation, scoring, update and the
/// pretraining mix) give the same weights and metrics with 1, 2, 3 and 8 worker threads. Batch sizes
/// are chosen so the last shard (and the last generation block) is a short one.
@Suite struct ThreadCountTests {
    static let threadCounts = [1, 2, 3, 8]

    struct Outcome: Equatable {
        var sftWeights: [Float], sftMetrics: [Double], validLoss: Double?
        var rmWeights: [Float], rmMetrics: [Double], heldOutAccuracy: Double, heldOutMargin: Double
        var ppoWeights: [Float], ppoMetrics: [Double]
    }

    func run(threads: Int) throws -> Outcome { try run(pool: WorkerPool(threads: threads)) }

    /// SFT, the reward model and PPO on `pool`, calling `afterStep` after every training step.
    func run(pool: WorkerPool, afterStep: () -> Void = {}) throws -> Outcome {
        let (docs, labels) = SyntheticReviews.documents(count: 120, seed: 1)
        let sftConfig = try SFTConfig(DirectoryStageContext.declaredParams(kind: "sft", overrides: [
            "block_size": .int(12), "batch_size": .int(10), "steps": .int(3), "lr": .float(1e-2), "eval_batches": .int(2)]))
        let sftModel = try GPTModel(config: SyntheticReviews.tinyConfig(), seed: 2)
        let sft = SFTTrainer(config: sftConfig, model: sftModel,
                             train: try DocumentBatcher(documents: docs, separator: 0, blockSize: 12),
                             valid: try DocumentBatcher(documents: Array(docs.suffix(20)), separator: 0, blockSize: 12),
                             seed: 2, pool: pool)
        var sftMetrics: [Double] = []
        for _ in 0..<sftConfig.steps { sftMetrics += try sft.trainStep().map(\.1); afterStep() }

        let pairs = SyntheticReviews.preferencePairs(docs, labels)
        let rm = try GPTModel(config: SyntheticReviews.tinyConfig(rewardHead: true), seed: 2)
        ModelTransfer.copyMatchingTensors(from: sftModel, to: rm)
        let rmConfig = try RewardTrainingConfig(DirectoryStageContext.declaredParams(kind: "rm", overrides: [
            "batch_size": .int(10), "lr": .float(3e-3), "epochs": .int(1)]))
        let rmTrainer = RewardTrainer(config: rmConfig, model: rm, pad: 0, pairs: Array(pairs.prefix(30)),
                                      heldOut: Array(pairs.suffix(9)), seed: 2, pool: pool)
        var rmMetrics: [Double] = []
        while rmTrainer.step < rmTrainer.totalSteps { rmMetrics += try rmTrainer.trainStep().map(\.1); afterStep() }
        let heldOut = rmTrainer.evaluate(Array(pairs.suffix(9)))

        let policy = try GPTModel(config: SyntheticReviews.tinyConfig(valueHead: true), seed: 2)
        ModelTransfer.copyMatchingTensors(from: sftModel, to: policy)
        let ppoConfig = try PPOConfig(DirectoryStageContext.declaredParams(kind: "ppo", overrides: [
            "batch_size": .int(20), "mini_batch_size": .int(10), "response_length": .int(5), "lr": .float(3e-3),
            "steps": .int(2), "ptx_coef": .float(0.5), "ptx_batch_size": .int(6), "ptx_length": .int(12)]))
        let ppo = try PPOTrainer(config: ppoConfig, policy: policy, reference: GPTModel(copying: policy),
                                 reward: try RewardScorer.model(rm, pad: 0, pool: pool),
                                 prompts: [[0], [0, 3], [0, 9, 4], [0, 2, 8, 8]], eos: 0, pad: 0, seed: 2, pool: pool)
        ppo.pretraining = try DocumentBatcher(documents: docs, separator: 0, blockSize: 12)
        var ppoMetrics: [Double] = []
        for _ in 0..<ppoConfig.steps { ppoMetrics += try ppo.trainStep().map(\.1); afterStep() }

        return Outcome(sftWeights: sftModel.parameters.array, sftMetrics: sftMetrics, validLoss: sft.validationLoss(),
                       rmWeights: rm.parameters.array, rmMetrics: rmMetrics, heldOutAccuracy: heldOut.accuracy,
                       heldOutMargin: heldOut.margin, ppoWeights: policy.parameters.array, ppoMetrics: ppoMetrics)
    }

    @Test func sftRewardModelAndPPOGiveTheSameBytesForAnyThreadCount() throws {
        let one = try run(threads: 1)
        #expect(one.sftMetrics.allSatisfy(\.isFinite) && one.ppoMetrics.allSatisfy(\.isFinite))
        for threads in Self.threadCounts.dropFirst() {
            let other = try run(threads: threads)
            #expect(other.sftWeights == one.sftWeights, "sft weights, \(threads) threads")
            #expect(other.sftMetrics == one.sftMetrics && other.validLoss == one.validLoss, "sft metrics, \(threads) threads")
            #expect(other.rmWeights == one.rmWeights, "rm weights, \(threads) threads")
            #expect(other.rmMetrics == one.rmMetrics, "rm metrics, \(threads) threads")
            #expect(other.heldOutAccuracy == one.heldOutAccuracy && other.heldOutMargin == one.heldOutMargin)
            #expect(other.ppoWeights == one.ppoWeights, "ppo weights, \(threads) threads")
            #expect(other.ppoMetrics == one.ppoMetrics, "ppo metrics, \(threads) threads")
        }
    }

    /// The runner moves cores between running stages: the stage's pool follows its budget file, here
    /// rewritten after every step (1 → 2 → 1 → 3 → …), and gives the bytes of a fixed pool.
    @Test func aBudgetThatChangesBetweenStepsGivesTheBytesOfAFixedPool() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pipe-elastic-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/threads"
        try "1\n".write(toFile: file, atomically: true, encoding: .utf8)
        let schedule = [2, 1, 3, 1, 2, 8]
        var steps = 0
        let pool = WorkerPool.following(budgetFile: file, threads: 1, interval: .zero)
        let elastic = try run(pool: pool) {
            try? "\(schedule[steps % schedule.count])\n".write(toFile: file, atomically: true, encoding: .utf8)
            steps += 1
        }
        #expect(Array(pool.threadHistory.prefix(4)) == [1, 2, 1, 3], "the pool took up every new budget")
        #expect(pool.threadHistory.count > 6)
        let fixed = try run(threads: 2)
        #expect(elastic == fixed, "the same weights and metrics as a fixed pool")
    }

    /// DPO (live reference, held-out evaluation) and GRPO (β > 0: reference pass; two minibatches).
    func runPreferenceTrainers(threads: Int) throws -> [[Float]] {
        let pool = WorkerPool(threads: threads)
        let policy = try DPOTrainerTests.sftModel(seed: 3)
        let all = DPOTrainerTests.pairs(count: 30, seed: 11)
        let dpo = try DPOTrainer(config: try DPOTrainerTests.config(["batch_size": .int(10), "precompute_ref": .bool(false)]),
                                 policy: policy, reference: GPTModel(copying: policy), pairs: Array(all.prefix(20)),
                                 heldOut: Array(all.suffix(7)), pad: 0, seed: 1, pool: pool)
        var dpoMetrics: [Double] = []
        for _ in 0..<2 { dpoMetrics += try dpo.trainStep().map(\.1) }
        dpoMetrics += try dpo.evaluate().map(\.1)

        let reward = try GPTModel(config: SyntheticReviews.tinyConfig(rewardHead: true), seed: 5)
        let grpoPolicy = try DPOTrainerTests.sftModel(seed: 4)
        let config = try GRPOConfig(DirectoryStageContext.declaredParams(kind: "grpo", overrides: [
            "prompts_per_step": .int(5), "num_generations": .int(4), "response_length": .int(5), "lr": .float(3e-3),
            "steps": .int(2), "beta": .float(0.04), "num_mini_batches": .int(2)]))
        let grpo = try GRPOTrainer(config: config, policy: grpoPolicy, reference: GPTModel(copying: grpoPolicy),
                                   reward: try RewardScorer.model(reward, pad: 0, pool: pool), prompts: GRPOTrainerTests.prompts,
                                   eos: 0, pad: 0, seed: 2, pool: pool)
        var grpoMetrics: [Double] = []
        for _ in 0..<2 { grpoMetrics += try grpo.trainStep().map(\.1) }
        return [policy.parameters.array, dpoMetrics.map(Float.init), grpoPolicy.parameters.array, grpoMetrics.map(Float.init)]
    }

    @Test func dpoAndGRPOGiveTheSameBytesForAnyThreadCount() throws {
        let one = try runPreferenceTrainers(threads: 1)
        for threads in Self.threadCounts.dropFirst() {
            #expect(try runPreferenceTrainers(threads: threads) == one, "\(threads) threads")
        }
    }

    @Test func shardedRewardGradientsMatchTheWholeBatch() throws {
        // The per-shard passes and the minibatch-wide loss add up to the unsharded gradient.
        let (docs, labels) = SyntheticReviews.documents(count: 40, seed: 3)
        let pairs = Array(SyntheticReviews.preferencePairs(docs, labels).prefix(10))
        let config = try RewardTrainingConfig(DirectoryStageContext.declaredParams(kind: "rm", overrides: [
            "batch_size": .int(10), "epochs": .int(1), "grad_clip": .float(0)]))
        let sharded = try GPTModel(config: SyntheticReviews.tinyConfig(rewardHead: true), seed: 4)
        let whole = GPTModel(copying: sharded)
        let trainer = RewardTrainer(config: config, model: sharded, pad: 0, pairs: pairs, heldOut: [], seed: 4,
                                    pool: WorkerPool(threads: 2))
        _ = try trainer.trainStep()
        // The same minibatch (same order: one step per epoch covers every pair) in one pass.
        var random = RandomStream(seed: 4, stream: streamID(0x524D))
        var batches = EpochBatches(count: pairs.count, batchSize: 10)
        let batch = batches.indices(step: 0, random: &random).map { pairs[$0] }
        let (c, r) = PairScoring.rewards(whole, ArraySlice(batch), pad: 0)
        let bt = BradleyTerry.evaluate(chosen: c, rejected: r, centring: config.centring)
        whole.zeroGradients()
        (bt.gradChosen + bt.gradRejected).withUnsafeBufferPointer { whole.backward(dRewards: $0.baseAddress!) }
        let reference = whole.gradients.array, got = sharded.gradients.array
        let scale = reference.map(abs).max()!
        #expect(scale > 0)
        for i in reference.indices { #expect(abs(got[i] - reference[i]) <= 1e-5 * scale, "gradient \(i)") }
    }
}
