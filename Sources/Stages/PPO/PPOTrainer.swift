import Foundation
import Models
import Tensor

/// The LM-PPO loop of shared/notes/rlhf-ppo.md: rollout (batched left-padded KV-cache generation,
/// policy/reference/reward scoring), per-token KL-penalised rewards, GAE, whitening, then `ppoEpochs`
/// passes of clipped policy + value losses over shuffled minibatches, and the KL controller update.
///
/// The policy carries a value head on its shared trunk (TRL's `AutoModelForCausalLMWithValueHead`); the
/// reference is a frozen copy of the initial policy; the reward comes from the stage's reward sources
/// (a reward model read at the last real token by default).
///
/// Generation, scoring and the update run in fixed row blocks and shards on the pool's threads
/// (`ModelReplicas`), so a step's bytes do not depend on the number of threads.
public final class PPOTrainer: Trainer {
    public let config: PPOConfig
    public let policy: GPTModel
    public let reference: GPTModel
    public let reward: RewardScorer
    let policyReplicas: ModelReplicas, referenceReplicas: ModelReplicas
    public let optimizer: AdamW
    let schedule: LearningRateSchedule
    public var controller: KLController
    /// Drives prompt choice, sampling and minibatch shuffles; its counter is checkpointed.
    public var random: RandomStream
    /// Completed PPO steps.
    public var step = 0
    public let prompts: [[Int32]]
    public let eos: Int32
    public let pad: Int32
    /// Rows of train-split reviews for the pretraining mix (`ptxCoef` > 0); nil = no mix.
    public var pretraining: DocumentBatcher?
    /// The gold scorer, measured on held-out prompts every `gold.every` steps; never in the gradient.
    public var gold: GoldEvaluator?
    /// Wall-clock seconds of the phases of the last step (for `pipe bench ppo` and logs; never persisted).
    public private(set) var timings = PhaseTimings()

    public struct PhaseTimings: Sendable {
        public var generate = 0.0, score = 0.0, update = 0.0
        public var total: Double { generate + score + update }
    }

    /// Extra dataset columns of each prompt (parallel to `prompts`), passed to the reward sources.
    public let promptColumns: [String: [RewardJSON]]

    public init(config: PPOConfig, policy: GPTModel, reference: GPTModel, reward: RewardScorer, prompts: [[Int32]],
                promptColumns: [String: [RewardJSON]] = [:], eos: Int32, pad: Int32, seed: UInt64,
                pool: WorkerPool = WorkerPool(threads: 1)) throws
    {
        guard policy.config.valueHead else { throw StageError.failed("PPO policy needs a value head") }
        guard !prompts.isEmpty else { throw StageError.failed("no prompts to sample from") }
        for name in promptColumns.keys.sorted() where promptColumns[name]!.count != prompts.count {
            let values = promptColumns[name]!
            throw StageError.failed("prompt column '\(name)' has \(values.count) values for \(prompts.count) prompts")
        }
        let longest = prompts.map(\.count).max()! + config.responseLength
        guard longest <= policy.config.maxPositions else {
            throw StageError.badParam("response_length", "prompt (\(longest - config.responseLength) tokens) + response (\(config.responseLength)) exceeds the model's n_positions (\(policy.config.maxPositions))")
        }
        for component in reward.sources.components {
            guard let model = (component.source as? RewardModelSource)?.model else { continue }
            guard longest <= model.config.maxPositions else {
                throw StageError.badParam("response_length", "prompt (\(longest - config.responseLength) tokens) + response (\(config.responseLength)) exceeds the reward model's n_positions (\(model.config.maxPositions))")
            }
        }
        self.config = config
        self.policy = policy
        self.reference = reference
        self.reward = reward
        self.promptColumns = promptColumns
        policyReplicas = ModelReplicas(policy, pool: pool)
        referenceReplicas = ModelReplicas(reference, pool: pool)
        self.optimizer = config.optimizer.optimizer(for: policy)
        self.schedule = config.optimizer.schedule(totalSteps: config.steps)
        self.controller = config.initialController
        self.random = RandomStream(seed: seed, stream: streamID(0x5050_4F)) // "PPO"
        self.prompts = prompts
        self.eos = eos
        self.pad = pad
    }

    /// Samples queries, generates responses and scores them with policy, reference and the reward
    /// sources; also returns the reward sources' metrics of the batch.
    public func rollout() throws -> (Rollout, QueryResponseBatch, entropy: Double, rewardMetrics: [(String, Double)]) {
        let b = config.batchSize, r = config.responseLength
        let picked = (0..<b).map { _ in random.nextInt(below: prompts.count) }
        let queries = picked.map { prompts[$0] }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let responses = ResponseSampler.sample(policyReplicas, queries: queries, length: r, temperature: config.temperature,
                                               pad: pad, eos: config.truncateEOS ? eos : nil, random: &random)
        let t1 = DispatchTime.now().uptimeNanoseconds
        defer { timings.generate = Double(t1 - t0) / 1e9; timings.score = Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9 }
        var mask = [Float](repeating: 1, count: b * r)
        var hasEOS = [Bool](repeating: false, count: b)
        if config.truncateEOS {
            (mask, hasEOS) = PPOMath.truncationMask(responses: responses, eos: eos, length: r)
        }
        let qr = QueryResponseBatch(queries: queries, responses: responses, responseMask: mask, responseLength: r, pad: pad)
        let scored = policyReplicas.scoreResponses(qr, temperature: config.temperature, entropy: true)
        let refScored = referenceReplicas.scoreResponses(qr, temperature: config.temperature, entropy: false)
        let rows = (0..<b).map { row in (0..<r).filter { mask[row * r + $0] > 0 }.map { responses[row * r + $0] } }
        let scoredRewards = try reward.score(queries: queries, responses: rows, assembled: qr,
                                             columns: promptColumns.mapValues { values in picked.map { values[$0] } })
        let raw = scoredRewards.rewards
        var scores = raw.map { $0 * config.scoreScale }
        if config.truncateEOS && config.missingEOSPenalty > 0 {
            for i in 0..<b where !hasEOS[i] { scores[i] -= config.missingEOSPenalty }
        }
        var entropySum = 0.0, count = 0.0
        for i in 0..<(b * r) where mask[i] > 0 { entropySum += Double(scored.entropy![i]); count += 1 }
        let rollout = Rollout(rows: b, length: r, queries: queries, responses: responses, mask: mask,
                              logp: scored.logp, refLogp: refScored.logp, values: scored.values!,
                              scores: scores, rawScores: raw, hasEOS: hasEOS)
        // Entropy per response (Σ over tokens), as TRL's objective/entropy.
        return (rollout, qr, entropySum / Double(b), scoredRewards.metrics)
    }

    /// The optimisation epochs over one rollout.
    public func optimise(_ rollout: Rollout, _ qr: QueryResponseBatch, targets: RolloutTargets) -> UpdateStatistics {
        var stats = UpdateStatistics()
        let learningRate = schedule.rate(at: step)
        let b = rollout.rows, r = rollout.length, mb = config.miniBatchSize
        epochs: for _ in 0..<config.ppoEpochs {
            var order = Array(0..<b)
            random.shuffle(&order)
            for start in stride(from: 0, to: b, by: mb) {
                let rows = Array(order[start..<(start + mb)])
                func pick(_ x: [Float]) -> [Float] { rows.flatMap { x[($0 * r)..<(($0 + 1) * r)] } }
                let sub = qr.rows(rows)
                let mask = pick(rollout.mask)
                let now = policyReplicas.scoreResponses(sub, temperature: config.temperature, entropy: false, forBackward: true)
                let pl = PPOMath.policyLoss(newLogp: now.logp, oldLogp: pick(rollout.logp), advantages: pick(targets.advantages),
                                            mask: mask, clipRange: config.clipRange)
                if config.earlyStopping && pl.policyKL > 1.5 * config.targetKL {
                    // The policy moved too far from π_old: drop this update and end the step's epochs.
                    stats.earlyStopped = true
                    break epochs
                }
                let vl = PPOMath.valueLoss(newValues: now.values!, oldValues: pick(rollout.values), returns: pick(targets.returns),
                                           mask: mask, clipRange: config.clipRangeValue)
                stats.add(policy: pl, value: vl)
                policyReplicas.backwardResponses(sub, temperature: config.temperature, dLogp: pl.gradient,
                                                 dValues: vl.gradient.map { $0 * config.vfCoef })
                if config.ptxCoef > 0, let pretraining {
                    stats.pretrainingLoss += Double(addPretrainingGradient(pretraining))
                    stats.pretrainingBatches += 1
                }
                config.optimizer.apply(optimizer, to: policy, learningRate: learningRate, pool: policyReplicas.pool)
            }
            stats.epochsRun += 1
        }
        return stats
    }

    /// PPO-ptx: accumulates ptxCoef × ∇(next-token loss) of a batch of train-split rows into the policy's
    /// gradients (after the PPO backward, which it must not disturb: backward accumulates). Rows are
    /// drawn from the trainer's stream, so a resumed run draws the same ones. Returns the unscaled loss.
    func addPretrainingGradient(_ documents: DocumentBatcher) -> Float {
        let (inputs, targets) = documents.batch(size: config.ptxBatchSize, random: &random)
        let loss = policyReplicas.languageModelLoss(inputs: inputs, targets: targets, rows: config.ptxBatchSize,
                                                    time: documents.blockSize, scale: config.ptxCoef, gradient: true,
                                                    adding: true)
        return loss / config.ptxCoef
    }

    /// One full PPO step; returns its metrics (TRL names).
    public func trainStep() throws -> [(String, Double)] {
        let (rollout, qr, entropy, rewardMetrics) = try rollout()
        let beta = controller.value
        let targets = try RolloutMath.targets(rollout, beta: beta, estimator: config.estimator, gamma: config.gamma,
                                              lambda: config.lambda, whiten: config.whitenAdvantages)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let stats = optimise(rollout, qr, targets: targets)
        timings.update = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        controller.update(currentKL: targets.meanSequenceKL, steps: config.batchSize)
        step += 1

        let meanScore = rollout.scores.reduce(0.0) { $0 + Double($1) } / Double(rollout.rows)
        let rawMean = rollout.rawScores.reduce(0.0) { $0 + Double($1) } / Double(rollout.rows)
        var retMean = 0.0, retN = 0.0
        for i in targets.returns.indices where rollout.mask[i] > 0 { retMean += Double(targets.returns[i]); retN += 1 }
        var metrics: [(String, Double)] = [
            ("objective/scores", meanScore),
            ("objective/rm_score_raw", rawMean),
            ("objective/kl", targets.meanSequenceKL),
            ("objective/kl_coef", beta),
            ("objective/non_score_reward", targets.meanNonScoreReward),
            ("objective/rlhf_reward", meanScore + targets.meanNonScoreReward),
            ("objective/entropy", entropy),
            ("val/num_eos_tokens", Double(rollout.hasEOS.filter { $0 }.count)),
            ("ppo/returns/mean", retMean / max(retN, 1)),
            ("ppo/val/var_explained", PPOMath.explainedVariance(values: rollout.values, returns: targets.returns, mask: rollout.mask)),
            ("lr", Double(schedule.rate(at: step - 1))),
        ]
        metrics += stats.averages
        metrics += rewardMetrics
        return metrics
    }
}

extension PPOTrainer {
    /// The gold metrics of the current policy (empty without a gold scorer).
    public func evaluate() throws -> [(String, Double)] {
        try gold?.evaluate(policy: policyReplicas, reference: referenceReplicas) ?? []
    }

    /// The SFT policy's gold metrics, as step 0.
    public func initialEvaluation() throws -> [(String, Double)] { try evaluate() }

    /// The scalar part of a checkpoint (weights with the value head and AdamW moments are beside it).
    struct State: Codable {
        var step: Int
        var controller: KLController
        var randomCounter: UInt64
    }

    public func saveState(to directory: String) throws {
        try TrainerState.saveModel(policy, optimizer: optimizer, to: directory)
        try TrainerState.writeJSON(State(step: step, controller: controller, randomCounter: random.counter),
                                   to: directory + "/state.json")
    }

    public func restoreState(from directory: String) throws {
        let state = try TrainerState.readJSON(State.self, from: directory + "/state.json")
        try TrainerState.restoreModel(policy, optimizer: optimizer, from: directory)
        step = state.step
        controller = state.controller
        random = RandomStream(seed: random.generator.seed, stream: random.stream, counter: state.randomCounter)
    }
}
