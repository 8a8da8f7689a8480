/// Hyper-parameters of one PPO run (the `ppo` stage's params; docs and defaults in stages/ppo.yaml and
/// stages/shared/optimizer.yaml). Fields are `var` so tests and benchmarks can adjust a config read from
/// the declared defaults.
public struct PPOConfig: Sendable, Equatable {
    public var steps: Int
    public var batchSize: Int
    public var miniBatchSize: Int
    public var ppoEpochs: Int
    public var optimizer: OptimizerSettings
    public var responseLength: Int
    public var temperature: Float
    public var initKLCoef: Double
    public var adaptiveKL: Bool
    public var target: Double
    public var horizon: Double
    public var klEstimator: String
    public var gamma: Float
    public var lambda: Float
    public var clipRange: Float
    public var clipRangeValue: Float
    public var vfCoef: Float
    public var whitenAdvantages: Bool
    public var scoreScale: Float
    public var targetKL: Double
    public var earlyStopping: Bool
    public var truncateEOS: Bool
    public var missingEOSPenalty: Float
    public var checkpointEvery: Int
    /// PPO-ptx (InstructGPT): weight of a next-token loss on train-split reviews added to every
    /// optimiser step, which holds the policy's language model (held-out perplexity) near the SFT's.
    public var ptxCoef: Float
    public var ptxBatchSize: Int
    public var ptxLength: Int
    /// Prompts: the fixed ones plus `corpusPrompts` train-split openings of `promptTokens` tokens.
    public var classicPrompts: [String]
    public var corpusPrompts: Int
    public var promptTokens: Int

    public init(_ p: StageParams) throws {
        steps = try p.int("steps")
        batchSize = try p.int("batch_size")
        miniBatchSize = try p.int("mini_batch_size")
        ppoEpochs = try p.int("ppo_epochs")
        optimizer = try OptimizerSettings(p)
        responseLength = try p.int("response_length")
        temperature = try p.float("temperature")
        initKLCoef = try p.double("init_kl_coef")
        adaptiveKL = try p.bool("adaptive_kl")
        target = try p.double("target")
        horizon = try p.double("horizon")
        klEstimator = try p.string("kl_estimator")
        gamma = try p.float("gamma")
        lambda = try p.float("lam")
        clipRange = try p.float("cliprange")
        clipRangeValue = try p.float("cliprange_value")
        vfCoef = try p.float("vf_coef")
        whitenAdvantages = try p.bool("whiten_advantages")
        scoreScale = try p.float("score_scale")
        targetKL = try p.double("target_kl")
        earlyStopping = try p.bool("early_stopping")
        truncateEOS = try p.bool("truncate_eos")
        missingEOSPenalty = try p.float("missing_eos_penalty")
        checkpointEvery = try p.int("checkpoint_every")
        ptxCoef = try p.float("ptx_coef"); ptxBatchSize = try p.int("ptx_batch_size"); ptxLength = try p.int("ptx_length")
        classicPrompts = try p.strings("classic_prompts")
        _ = try TemplateFile.resolve(p, storedWith: nil)  // checks template, chat_roles, chat_separator
        corpusPrompts = try p.int("corpus_prompts")
        promptTokens = try p.int("prompt_tokens")
        try validate()
    }

    public func validate() throws {
        guard KLEstimator(rawValue: klEstimator) != nil else {
            throw StageError.badParam("kl_estimator", "'\(klEstimator)' is not one of k1, k2, k3")
        }
        guard miniBatchSize <= batchSize, batchSize % miniBatchSize == 0 else {
            throw StageError.badParam("mini_batch_size", "\(miniBatchSize) must divide batch_size \(batchSize)")
        }
        guard ptxCoef >= 0 else { throw StageError.badParam("ptx_coef", "must be ≥ 0 (0 turns the pretraining mix off)") }
        guard ptxBatchSize >= 1 else { throw StageError.badParam("ptx_batch_size", "must be ≥ 1") }
        guard ptxLength >= 2 else { throw StageError.badParam("ptx_length", "must be ≥ 2 tokens") }
        guard adaptiveKL == false || target > 0 else {
            throw StageError.badParam("target", "must be > 0 with adaptive_kl (got \(target))")
        }
    }

    public var estimator: KLEstimator { KLEstimator(rawValue: klEstimator)! }

    public var initialController: KLController {
        adaptiveKL ? .adaptive(initial: initKLCoef, target: target, horizon: horizon) : .fixed(initKLCoef)
    }
}
