import Foundation
import Models
import Tensor

/// Critic-free RL from group-relative rewards (GRPO; RLOO with the leave-one-out baseline). Each step
/// draws `promptsPerStep` prompts, samples `numGenerations` completions of each (batched KV-cache
/// generation), scores them with the reward source, turns the rewards into advantages within each
/// group, and runs `numIterations` passes of `numMiniBatches` optimiser steps on the token-level clipped
/// surrogate plus β·k3 KL to the frozen reference (no reference at all when β = 0). Generation,
/// scoring and the update run in fixed row blocks and shards on the pool's threads (`ModelReplicas`).
public final class GRPOTrainer: Trainer {
    public let config: GRPOConfig
    public let policy: GPTModel
    /// The frozen reference; nil exactly when β = 0.
    public let reference: GPTModel?
    let policyReplicas: ModelReplicas, referenceReplicas: ModelReplicas?
    public let reward: RewardScorer
    /// Extra dataset columns of each prompt (parallel to `prompts`), passed to the reward sources.
    public let promptColumns: [String: [RewardJSON]]
    public let optimizer: AdamW
    let schedule: LearningRateSchedule
    /// Drives prompt choice, sampling and minibatch shuffles; its counter is checkpointed.
    public var random: RandomStream
    /// Completed steps (generation batches).
    public var step = 0
    public let prompts: [[Int32]]
    public let eos: Int32
    public let pad: Int32
    /// The gold scorer, measured on held-out prompts every `gold.every` steps; never in the gradient.
    public var gold: GoldEvaluator?
    /// The frozen model `gold/kl` is measured against: the reference, or (β = 0) a copy made for it.
    var goldReference: ModelReplicas?
    /// Wall-clock seconds of the phases of the last step (for benchmarks and logs; never persisted).
    public private(set) var timings = PhaseTimings()

    public struct PhaseTimings: Sendable {
        public var generate = 0.0, score = 0.0, update = 0.0
        public var total: Double { generate + score + update }
    }

    public init(config: GRPOConfig, policy: GPTModel, reference: GPTModel?, reward: RewardScorer, prompts: [[Int32]],
                promptColumns: [String: [RewardJSON]] = [:], eos: Int32, pad: Int32, seed: UInt64,
                pool: WorkerPool = WorkerPool(threads: 1)) throws
    {
        guard !prompts.isEmpty else { throw StageError.failed("no prompts to sample from") }
        for name in promptColumns.keys.sorted() where promptColumns[name]!.count != prompts.count {
            throw StageError.failed("prompt column '\(name)' has \(promptColumns[name]!.count) values for \(prompts.count) prompts")
        }
        guard (config.beta > 0) == (reference != nil) else {
            throw StageError.failed(config.beta > 0 ? "beta \(config.beta) > 0 needs a reference model" : "beta 0 takes no reference model")
        }
        let longest = prompts.map(\.count).max()! + config.responseLength
        guard longest <= policy.config.maxPositions else {
            throw StageError.badParam("response_length", "prompt (\(longest - config.responseLength) tokens) + response (\(config.responseLength)) exceeds the model's n_positions (\(policy.config.maxPositions))")
        }
        self.config = config
        self.policy = policy
        self.reference = reference
        policyReplicas = ModelReplicas(policy, pool: pool)
        referenceReplicas = reference.map { ModelReplicas($0, pool: pool) }
        self.reward = reward
        self.promptColumns = promptColumns
        self.optimizer = config.optimizer.optimizer(for: policy)
        self.schedule = config.optimizer.schedule(totalSteps: config.steps)
        self.random = RandomStream(seed: seed, stream: streamID(0x4752_504F)) // "GRPO"
        self.prompts = prompts
        self.eos = eos
        self.pad = pad
    }

    /// One generation batch: completions, their rewards and advantages.
    public struct Generation: Sendable {
        public var batch: QueryResponseBatch
        public var mask: [Float]
        public var rewards: [Float]
        public var advantages: GRPOMath.Advantages
        /// The reward sources' metrics of the batch.
        public var rewardMetrics: [(String, Double)]
    }

    /// Samples the groups and scores them.
    public func generate() throws -> Generation {
        let g = config.numGenerations, r = config.responseLength
        let chosen = (0..<config.promptsPerStep).map { _ in random.nextInt(below: prompts.count) }
        let queries = chosen.flatMap { Array(repeating: prompts[$0], count: g) }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let responses = ResponseSampler.sample(policyReplicas, queries: queries, length: r, temperature: config.temperature,
                                               pad: pad, eos: config.truncateEOS ? eos : nil, random: &random)
        let t1 = DispatchTime.now().uptimeNanoseconds
        var mask = [Float](repeating: 1, count: queries.count * r)
        if config.truncateEOS { mask = PPOMath.truncationMask(responses: responses, eos: eos, length: r).mask }
        let qr = QueryResponseBatch(queries: queries, responses: responses, responseMask: mask, responseLength: r, pad: pad)
        let rows = (0..<queries.count).map { row in (0..<r).filter { mask[row * r + $0] > 0 }.map { responses[row * r + $0] } }
        // The reward model packs the EOS-cut rows itself (no assembled batch), as it always has here.
        let columns = promptColumns.mapValues { values in chosen.flatMap { Array(repeating: values[$0], count: g) } }
        let scored: RewardScorer.Scored
        do { scored = try reward.score(queries: queries, responses: rows, columns: columns) } catch {
            throw StageError.failed("step \(step + 1): \(error)")
        }
        let rewards = scored.rewards
        let advantages = GRPOMath.advantages(rewards: rewards, groupSize: g, baseline: config.advantage, scaling: config.scaleRewards)
        timings.generate = Double(t1 - t0) / 1e9
        timings.score = Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9
        return Generation(batch: qr, mask: mask, rewards: rewards, advantages: advantages, rewardMetrics: scored.metrics)
    }

    /// Running sums over the optimiser steps of one generation batch.
    struct UpdateStatistics {
        var loss = 0.0, kl = 0.0, clipLow = 0.0, clipHigh = 0.0, clipRegion = 0.0, gradNorm = 0.0
        var updates = 0
        var entropySum = 0.0, entropyTokens = 0.0
        /// Seconds of the no-gradient π_old and reference passes (the score phase, not the update).
        var scoreSeconds = 0.0
    }

    /// The optimisation passes over one generation batch.
    func optimise(_ generation: Generation) -> UpdateStatistics {
        let qr = generation.batch, r = config.responseLength, rows = qr.batch.batch
        let learningRate = schedule.rate(at: step)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let old = config.needsOldLogProbs ? policyReplicas.scoreResponses(qr, temperature: config.temperature, entropy: false).logp : nil
        let ref = referenceReplicas.map { $0.scoreResponses(qr, temperature: config.temperature, entropy: false).logp }
        var stats = UpdateStatistics()
        stats.scoreSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let size = rows / config.numMiniBatches
        for iteration in 0..<config.numIterations {
            var order = Array(0..<rows)
            if config.numMiniBatches > 1 { random.shuffle(&order) }
            for start in stride(from: 0, to: rows, by: size) {
                let picked = Array(order[start..<(start + size)])
                let whole = picked.count == rows && config.numMiniBatches == 1
                func pick(_ x: [Float]) -> [Float] { whole ? x : picked.flatMap { x[($0 * r)..<(($0 + 1) * r)] } }
                let sub = whole ? qr : qr.rows(picked)
                let mask = pick(generation.mask)
                let now = policyReplicas.scoreResponses(sub, temperature: config.temperature, entropy: iteration == 0,
                                                        forBackward: true)
                if let entropy = now.entropy {
                    for i in entropy.indices where mask[i] > 0 { stats.entropySum += Double(entropy[i]); stats.entropyTokens += 1 }
                }
                let loss = GRPOMath.loss(logp: now.logp, oldLogp: old.map(pick) ?? now.logp, refLogp: ref.map(pick),
                                         advantages: picked.map { generation.advantages.advantages[$0] }, mask: mask,
                                         length: r, lossType: config.lossType, epsilonLow: config.epsilon,
                                         epsilonHigh: config.epsilonHigh, beta: config.beta, maxCompletionLength: r)
                policyReplicas.backwardResponses(sub, temperature: config.temperature, dLogp: loss.gradient, dValues: nil)
                let norm = config.optimizer.apply(optimizer, to: policy, learningRate: learningRate, pool: policyReplicas.pool)
                stats.loss += loss.loss; stats.kl += loss.kl ?? 0
                stats.clipLow += loss.clipLow; stats.clipHigh += loss.clipHigh; stats.clipRegion += loss.clipRegion
                stats.gradNorm += Double(norm)
                stats.updates += 1
            }
        }
        return stats
    }

    /// One step: generate and score G completions per prompt, then update; returns its metrics (TRL names).
    public func trainStep() throws -> [(String, Double)] {
        let generation = try generate()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let stats = optimise(generation)
        timings.score += stats.scoreSeconds
        timings.update = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 - stats.scoreSeconds
        step += 1

        let n = Double(max(stats.updates, 1))
        let lengths = generation.mask.reduce(0.0) { $0 + Double($1) } / Double(generation.batch.batch.batch)
        var metrics: [(String, Double)] = [
            ("reward", generation.advantages.rewardMean),
            ("reward_std", generation.advantages.rewardStd),
            ("frac_reward_zero_std", generation.advantages.fractionZeroStd),
        ]
        if config.beta > 0 { metrics.append(("kl", stats.kl / n)) }
        metrics += [
            ("clip_ratio/low_mean", stats.clipLow / n),
            ("clip_ratio/high_mean", stats.clipHigh / n),
            ("clip_ratio/region_mean", stats.clipRegion / n),
            ("entropy", stats.entropySum / max(stats.entropyTokens, 1)),
            ("completions/mean_length", lengths),
            ("loss", stats.loss / n),
            ("grad_norm", stats.gradNorm / n),
            ("lr", Double(schedule.rate(at: step - 1))),
        ]
        metrics += generation.rewardMetrics
        return metrics
    }
}

extension GRPOTrainer {
    /// Turns on the gold measurement; without a reference (β = 0) it keeps a frozen copy of the
    /// starting policy for `gold/kl`.
    public func measureGold(_ evaluator: GoldEvaluator, pool: WorkerPool) {
        gold = evaluator
        goldReference = referenceReplicas ?? ModelReplicas(GPTModel(copying: policy), pool: pool)
    }

    /// The gold metrics of the current policy (empty without a gold scorer).
    public func evaluate() throws -> [(String, Double)] {
        guard let gold, let goldReference else { return [] }
        return try gold.evaluate(policy: policyReplicas, reference: goldReference)
    }

    /// The SFT policy's gold metrics, as step 0.
    public func initialEvaluation() throws -> [(String, Double)] { try evaluate() }

    /// The scalar part of a checkpoint (weights and AdamW moments are beside it).
    struct State: Codable {
        var step: Int
        var randomCounter: UInt64
    }

    public func saveState(to directory: String) throws {
        try TrainerState.saveModel(policy, optimizer: optimizer, to: directory)
        try TrainerState.writeJSON(State(step: step, randomCounter: random.counter), to: directory + "/state.json")
    }

    public func restoreState(from directory: String) throws {
        let state = try TrainerState.readJSON(State.self, from: directory + "/state.json")
        try TrainerState.restoreModel(policy, optimizer: optimizer, from: directory)
        step = state.step
        random = RandomStream(seed: random.generator.seed, stream: random.stream, counter: state.randomCounter)
    }
}
