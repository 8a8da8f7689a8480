/// Hyper-parameters of one GRPO/RLOO run (the `grpo` stage's params; docs and defaults in stages/grpo.yaml
/// and stages/shared/optimizer.yaml). Fields are `var` so tests and benchmarks can adjust a config read
/// from the declared defaults.
public struct GRPOConfig: Sendable, Equatable {
    public var steps: Int
    /// Prompts drawn per step; each gets `numGenerations` completions (one group).
    public var promptsPerStep: Int
    public var numGenerations: Int
    /// Optimisation passes over each generation batch (1: the ratio is exactly 1, π_old = π_θ).
    public var numIterations: Int
    /// Optimiser steps per pass (the generation batch's rows split into this many shuffled minibatches).
    public var numMiniBatches: Int
    public var optimizer: OptimizerSettings
    public var responseLength: Int
    public var temperature: Float
    /// Weight of the k3 KL to the reference in the loss (0: no reference model at all).
    public var beta: Float
    public var epsilon: Float
    /// Upper clip ε_high; the declared value 0 means "equal to epsilon" (TRL's None).
    public var epsilonHigh: Float
    public var lossType: GRPOLossType
    public var scaleRewards: RewardScaling
    public var advantage: GroupAdvantage
    public var truncateEOS: Bool
    public var checkpointEvery: Int
    /// Prompts: the fixed ones plus `corpusPrompts` train-split openings of `promptTokens` tokens.
    public var classicPrompts: [String]
    public var corpusPrompts: Int
    public var promptTokens: Int

    public init(_ p: StageParams) throws {
        steps = try p.int("steps")
        promptsPerStep = try p.int("prompts_per_step")
        numGenerations = try p.int("num_generations")
        numIterations = try p.int("num_iterations")
        numMiniBatches = try p.int("num_mini_batches")
        optimizer = try OptimizerSettings(p)
        responseLength = try p.int("response_length")
        temperature = try p.float("temperature")
        beta = try p.float("beta")
        epsilon = try p.float("epsilon")
        let high = try p.float("epsilon_high")
        epsilonHigh = high == 0 ? epsilon : high
        lossType = try Self.choice(p, "loss_type")
        scaleRewards = try Self.choice(p, "scale_rewards")
        advantage = try Self.choice(p, "advantage")
        truncateEOS = try p.bool("truncate_eos")
        checkpointEvery = try p.int("checkpoint_every")
        classicPrompts = try p.strings("classic_prompts")
        _ = try TemplateFile.resolve(p, storedWith: nil)  // checks template, chat_roles, chat_separator
        corpusPrompts = try p.int("corpus_prompts")
        promptTokens = try p.int("prompt_tokens")
        try validate()
    }

    static func choice<T: RawRepresentable & CaseIterable>(_ p: StageParams, _ name: String) throws -> T where T.RawValue == String {
        let value = try p.string(name)
        guard let choice = T(rawValue: value) else {
            throw StageError.badParam(name, "'\(value)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return choice
    }

    /// Completions per step.
    public var rows: Int { promptsPerStep * numGenerations }

    public func validate() throws {
        guard numGenerations >= 2 else {
            throw StageError.badParam("num_generations", "must be ≥ 2: the advantage compares completions of the same prompt")
        }
        guard numMiniBatches >= 1, rows % numMiniBatches == 0 else {
            throw StageError.badParam("num_mini_batches", "\(numMiniBatches) must divide prompts_per_step × num_generations = \(rows)")
        }
        guard beta >= 0, epsilon >= 0, epsilonHigh >= 0 else {
            throw StageError.badParam(beta < 0 ? "beta" : "epsilon", "must be ≥ 0")
        }
        // RLOO divided by the group's std is GRPO times G/(G−1): an "RLOO" arm would silently be GRPO.
        guard !(advantage == .rloo && scaleRewards == .group) else {
            throw StageError.badParam("scale_rewards", "'group' with advantage: rloo is GRPO scaled by G/(G−1); set scale_rewards: none (RLOO as in TRL and OpenRLHF) or batch")
        }
    }

    /// Whether the update needs π_old's log-probs from a separate pass (otherwise π_old = π_θ exactly).
    public var needsOldLogProbs: Bool { numIterations > 1 || numMiniBatches > 1 }
}
