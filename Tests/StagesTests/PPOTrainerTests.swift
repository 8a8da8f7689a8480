import PipeTestSupport
import Models
import Tensor
import Testing
@testable import Stages

/// A synthetic world for the RLHF loop: token 0 is EOS/BOS, "positive" documents use tokens 1...6 and
/// "negative" documents tokens 7...12. SFT learns both; the reward model learns positive > negative; PPO
/// should move the policy towards positive tokens.
enum SyntheticReviews {
    static let vocab = 16
    static let positive: [Int32] = Array(1...6)
    static let negative: [Int32] = Array(7...12)

    static func documents(count: Int, seed: UInt64) -> (docs: [[Int32]], labels: [Int]) {
        var random = RandomStream(seed: seed, stream: 7)
        var docs: [[Int32]] = [], labels: [Int] = []
        for i in 0..<count {
            let label = i % 2
            let pool = label == 1 ? positive : negative
            let length = 4 + random.nextInt(below: 6)
            docs.append((0..<length).map { _ in pool[random.nextInt(below: pool.count)] })
            labels.append(label)
        }
        return (docs, labels)
    }

    static func tinyConfig(valueHead: Bool = false, rewardHead: Bool = false) -> GPTConfig {
        var c = GPTConfig(vocabSize: vocab, maxPositions: 32, channels: 16, layers: 1, heads: 2,
                          valueHead: valueHead, rewardHead: rewardHead)
        c.eosTokenID = 0
        c.padTokenID = 0
        return c
    }

    /// Pairs of a positive document over a negative one, each after the [EOS] token.
    static func preferencePairs(_ docs: [[Int32]], _ labels: [Int]) -> [PreferencePair] {
        let pos = zip(docs, labels).filter { $0.1 == 1 }.map { [0] + $0.0 }
        let neg = zip(docs, labels).filter { $0.1 == 0 }.map { [0] + $0.0 }
        return zip(pos, neg).map { PreferencePair(chosen: $0, rejected: $1, promptLength: 0, chosenText: "", rejectedText: "") }
    }

    /// A reward model on the SFT model's trunk, ready to train on `pairs`.
    static func rewardTrainer(from sft: GPTModel, pairs: [PreferencePair], seed: UInt64) throws -> RewardTrainer {
        let rm = try GPTModel(config: tinyConfig(rewardHead: true), seed: seed)
        ModelTransfer.copyMatchingTensors(from: sft, to: rm)
        let config = try RewardTrainingConfig(DirectoryStageContext.declaredParams(kind: "rm", overrides: [
            "batch_size": .int(10), "lr": .float(3e-3), "warmup_steps": .int(2), "epochs": .int(2)]))
        return RewardTrainer(config: config, model: rm, pad: 0, pairs: pairs, heldOut: [], seed: seed)
    }

    /// Fraction of sampled response tokens that are positive-pool tokens.
    static func positiveShare(_ responses: [Int32]) -> Double {
        Double(responses.filter { positive.contains($0) }.count) / Double(responses.count)
    }
}

@Suite struct PPOTrainerTests {
    /// SFT → RM → PPO on the synthetic world, in seconds in a debug build.
    func runLoop(seed: UInt64, ppoSteps: Int, ptxCoef: Float = 0) throws -> (sftLoss: [Float], rmAccuracy: Double, share: (before: Double, after: Double), scores: [Double], weights: [Float], lmLoss: (sft: Float, policy: Float)) {
        let (docs, labels) = SyntheticReviews.documents(count: 200, seed: 1)
        let sftConfig = try SFTConfig(DirectoryStageContext.declaredParams(kind: "sft", overrides: [
            "block_size": .int(16), "batch_size": .int(8), "steps": .int(60), "lr": .float(1e-2),
            "warmup_steps": .int(5), "weight_decay": .float(0)]))
        let sftModel = try GPTModel(config: SyntheticReviews.tinyConfig(), seed: seed)
        let sft = SFTTrainer(config: sftConfig, model: sftModel,
                             train: try DocumentBatcher(documents: docs, separator: 0, blockSize: 16), valid: nil, seed: seed)
        var losses: [Float] = []
        for _ in 0..<sftConfig.steps { losses.append(Float(try sft.trainStep()[0].1)) }

        // Reward model: SFT trunk + reward head, pairs = (positive doc, negative doc).
        let pairs = SyntheticReviews.preferencePairs(docs, labels)
        let rmTrainer = try SyntheticReviews.rewardTrainer(from: sftModel, pairs: Array(pairs.prefix(80)), seed: seed)
        let rm = rmTrainer.model
        while rmTrainer.step < rmTrainer.totalSteps { #expect(try rmTrainer.trainStep()[0].1.isFinite) }
        let heldOut = rmTrainer.evaluate(Array(pairs.suffix(20)))

        // PPO from the SFT model.
        let policy = try GPTModel(config: SyntheticReviews.tinyConfig(valueHead: true), seed: seed)
        ModelTransfer.copyMatchingTensors(from: sftModel, to: policy)
        let reference = GPTModel(copying: policy)
        let config = try PPOConfig(DirectoryStageContext.declaredParams(kind: "ppo", overrides: [
            "batch_size": .int(16), "mini_batch_size": .int(8), "response_length": .int(6), "lr": .float(3e-3),
            "init_kl_coef": .float(0.05), "steps": .int(Int64(ppoSteps)),
            "ptx_coef": .float(Double(ptxCoef)), "ptx_batch_size": .int(8), "ptx_length": .int(16)]))
        let prompts: [[Int32]] = [[0], [0, 3], [0, 9], [0, 2, 8]]
        let trainer = try PPOTrainer(config: config, policy: policy, reference: reference, reward: try RewardScorer.model(rm, pad: 0),
                                     prompts: prompts, eos: 0, pad: 0, seed: seed)
        let documents = try DocumentBatcher(documents: docs, separator: 0, blockSize: 16)
        trainer.pretraining = documents
        /// Next-token loss on fixed rows of both classes (the "held-out perplexity" of this world).
        func lmLoss(_ model: GPTModel) -> Float {
            let (inputs, targets) = documents.evaluationBatch(index: 0, size: 16, of: 1)
            model.forward(TokenBatch(tokens: inputs, batch: 16, time: 16))
            return model.crossEntropy(targets: targets, computeGradient: false)
        }
        let sftLM = lmLoss(sftModel)
        var probe = RandomStream(seed: 99, stream: 1)
        let before = ResponseSampler.sample(policy, queries: Array(repeating: [0], count: 32), length: 6, temperature: 1, pad: 0, random: &probe)
        var scores: [Double] = []
        for _ in 0..<ppoSteps {
            let m = try trainer.trainStep()
            for (_, v) in m { #expect(v.isFinite) }
            scores.append(m.first { $0.0 == "objective/scores" }!.1)
        }
        probe = RandomStream(seed: 99, stream: 1)
        let after = ResponseSampler.sample(policy, queries: Array(repeating: [0], count: 32), length: 6, temperature: 1, pad: 0, random: &probe)
        return (losses, heldOut.accuracy, (SyntheticReviews.positiveShare(before), SyntheticReviews.positiveShare(after)),
                scores, policy.parameters.array, (sftLM, lmLoss(policy)))
    }

    @Test func sftThenRewardModelThenPPORaisesReward() throws {
        let r = try runLoop(seed: 5, ppoSteps: 12)
        #expect(r.sftLoss.last! < r.sftLoss.first! - 0.5)
        #expect(r.rmAccuracy >= 0.9)
        let early = r.scores.prefix(3).reduce(0, +) / 3, late = r.scores.suffix(3).reduce(0, +) / 3
        #expect(late > early, "reward \(r.scores)")
        #expect(r.share.after > r.share.before + 0.1, "positive-token share \(r.share)")
    }

    @Test func pretrainingMixHoldsTheLanguageModelNearSFT() throws {
        // PPO-ptx: the same PPO run with a next-token loss on both classes' documents keeps the policy's
        // loss on those documents closer to the SFT model's, and still moves towards positive tokens.
        let plain = try runLoop(seed: 5, ppoSteps: 12), mixed = try runLoop(seed: 5, ppoSteps: 12, ptxCoef: 1)
        #expect(plain.lmLoss.sft == mixed.lmLoss.sft)
        #expect(plain.lmLoss.policy > plain.lmLoss.sft, "PPO alone drifts from the SFT language model \(plain.lmLoss)")
        #expect(mixed.lmLoss.policy < plain.lmLoss.policy, "ptx \(mixed.lmLoss) vs none \(plain.lmLoss)")
        #expect(mixed.share.after > mixed.share.before, "positive-token share \(mixed.share)")
    }

    @Test func sameSeedSameWeights() throws {
        let a = try runLoop(seed: 3, ppoSteps: 2), b = try runLoop(seed: 3, ppoSteps: 2)
        #expect(a.weights == b.weights)
        #expect(a.scores == b.scores)
    }
}
