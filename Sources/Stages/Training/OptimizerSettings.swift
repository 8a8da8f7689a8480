import Models

/// The optimiser params every training stage shares (declared once, in `stages/shared/optimizer.yaml`):
/// AdamW moments and decay, linear warm-up then cosine decay to `min_lr_ratio × lr`, global-norm clipping.
public struct OptimizerSettings: Sendable, Equatable {
    public var learningRate: Float
    public var minLearningRateRatio: Float
    public var warmupSteps: Int
    public var weightDecay: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var gradClip: Float

    public init(_ p: StageParams) throws {
        learningRate = try p.float("lr")
        minLearningRateRatio = try p.float("min_lr_ratio")
        warmupSteps = try p.int("warmup_steps")
        weightDecay = try p.float("weight_decay")
        beta1 = try p.float("beta1")
        beta2 = try p.float("beta2")
        epsilon = try p.float("adam_epsilon")
        gradClip = try p.float("grad_clip")
        guard beta1 >= 0, beta1 < 1 else { throw StageError.badParam("beta1", "\(beta1) must be in [0, 1)") }
        guard beta2 >= 0, beta2 < 1 else { throw StageError.badParam("beta2", "\(beta2) must be in [0, 1)") }
    }

    public func optimizer(for model: GPTModel) -> AdamW {
        AdamW(for: model, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
    }

    /// Warm-up then cosine decay over `totalSteps` optimiser steps (constant when min_lr_ratio is 1 and
    /// there is no warm-up).
    public func schedule(totalSteps: Int) -> LearningRateSchedule {
        LearningRateSchedule(peak: learningRate, minimum: learningRate * minLearningRateRatio,
                             warmupSteps: warmupSteps, totalSteps: totalSteps)
    }

    /// Clips the accumulated gradients (as AdamW reads them) and applies one update (on the pool's
    /// threads when given: the same bytes); returns the gradient norm before clipping.
    @discardableResult
    public func apply(_ optimizer: AdamW, to model: GPTModel, learningRate: Float, pool: WorkerPool? = nil) -> Float {
        let clip = gradientClipScale(model, maxNorm: gradClip, pool: pool)
        optimizer.update(model, learningRate: learningRate, gradientScale: clip.scale, pool: pool)
        return clip.norm
    }
}
