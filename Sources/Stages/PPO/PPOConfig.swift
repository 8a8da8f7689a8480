/// Hyper-parameters of one PPO run (the `ppo` stage's params, see stages/ppo.yaml for docs and defaults).
public struct PPOConfig: Sendable, Codable, Equatable {
    public var steps = 60
    public var batchSize = 64
    public var miniBatchSize = 16
    public var ppoEpochs = 4
    public var learningRate: Float = 1.41e-5
    public var responseLength = 16
    public var temperature: Float = 1
    public var initKLCoef = 0.2
    public var adaptiveKL = true
    public var target = 6.0
    public var horizon = 10000.0
    public var klEstimator = "k1"
    public var gamma: Float = 1
    public var lambda: Float = 0.95
    public var clipRange: Float = 0.2
    public var clipRangeValue: Float = 0.2
    public var vfCoef: Float = 0.1
    public var whitenAdvantages = true
    public var scoreScale: Float = 1
    public var targetKL = 1.0
    public var earlyStopping = true
    public var gradClip: Float = 1
    public var truncateEOS = false
    public var missingEOSPenalty: Float = 0
    public var checkpointEvery = 10
    /// PPO-ptx (InstructGPT): weight of a next-token loss on train-split reviews added to every
    /// optimiser step, which holds the policy's language model (held-out perplexity) near the SFT's.
    public var ptxCoef: Float = 0
    public var ptxBatchSize = 8
    public var ptxLength = 64

    public init() {}

    public init(_ p: StageParams) throws {
        steps = try p.int("steps")
        batchSize = try p.int("batch_size")
        miniBatchSize = try p.int("mini_batch_size")
        ppoEpochs = try p.int("ppo_epochs")
        learningRate = try p.float("lr")
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
        gradClip = try p.float("grad_clip")
        truncateEOS = try p.bool("truncate_eos")
        missingEOSPenalty = try p.float("missing_eos_penalty")
        checkpointEvery = try p.int("checkpoint_every")
        // Added in version 2; contexts built by hand without them get the declared defaults.
        if p.values["ptx_coef"] != nil {
            ptxCoef = try p.float("ptx_coef"); ptxBatchSize = try p.int("ptx_batch_size"); ptxLength = try p.int("ptx_length")
        }
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
