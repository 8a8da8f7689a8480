import Tensor

/// A GPT-2 model: configuration, one flat parameter buffer (named views in `layout`), a gradient
/// buffer of the same layout, and an activation arena sized for the largest (B, T) seen.
///
/// Not thread-safe: one model is used by one thread at a time (stages own their models).
public final class GPTModel: @unchecked Sendable {
    public let config: GPTConfig
    public let layout: ParameterLayout
    public let parameters: FloatBuffer
    /// Where `backward` accumulates. A shard replica's buffer is swapped per shard (see `ModelReplicas`).
    public internal(set) var gradients: FloatBuffer
    /// True while `gradients` holds stale values that the next `backward` overwrites instead of adding
    /// to (a shard replica's buffer: see `ModelReplicas`); every element it would not write is zeroed
    /// there, so the result equals zeroing first and accumulating, without the pass over the buffer.
    var gradientsStale = false
    /// Seed of the dropout masks; forward passes with dropout draw fresh streams from a counter.
    public var dropoutSeed: UInt64
    /// Number of forward passes that used dropout so far (the dropout stream counter).
    public internal(set) var dropoutPasses: UInt64 = 0

    var activations = FloatBuffer(count: 0)
    let tokens = Int32Buffer(), positions = Int32Buffer(), mask = Int32Buffer()
    /// Layout and options of the last forward pass (what backward differentiates).
    var current: ActivationLayout?
    var currentDropout: DropoutStreams?
    var hasMask = false
    /// Reused by `generate` while the batch shape stays the same.
    var kvCache: KVCache?
    /// Index t of the last real token of each row of the last forward (the reward head reads there).
    public internal(set) var lastTokenIndices: [Int] = []

    /// A freshly initialised model: N(0, initializer_range) weights and embeddings, residual
    /// projections (`c_proj`) scaled by 1/√(2L) as in GPT-2, zero biases, unit LayerNorm gains.
    /// Tensor i draws from Philox stream i of `seed`, so adding a head does not change the trunk.
    /// Throws when the config is inconsistent or its weights and gradients would not fit in memory.
    public convenience init(config: GPTConfig, seed: UInt64) throws(GPTConfigError) {
        try self.init(config: config, seed: seed, initializing: { _ in true })
    }

    /// As `init(config:seed:)`, initialising only the tensors `initializing` selects (the others stay
    /// zero): a checkpoint loader fills the rest from the file and initialises only new heads.
    init(config: GPTConfig, seed: UInt64, initializing: (String) -> Bool) throws(GPTConfigError) {
        try config.validate()
        try MemoryBudget.check(config)
        self.config = config
        layout = ParameterLayout(config)
        parameters = FloatBuffer(count: layout.count)
        gradients = FloatBuffer(count: layout.count)
        dropoutSeed = streamID(seed, 0xD20F)
        let rng = Philox(seed: seed)
        let residualScale = 1 / Float(2 * config.layers).squareRoot()
        for (i, t) in layout.tensors.enumerated() where initializing(t.name) {
            let p = parameters.pointer + t.offset
            if t.name.hasSuffix("ln_1.weight") || t.name.hasSuffix("ln_2.weight") || t.name.hasSuffix("ln_f.weight") {
                p.update(repeating: 1, count: t.count)
            } else if t.decays {
                let std = t.name.hasSuffix("c_proj.weight") ? config.initializerRange * residualScale : config.initializerRange
                rng.fillNormal(p, count: t.count, mean: 0, std: std, stream: UInt64(i))
            }
        }
    }

    /// A model with the same config and a copy of `other`'s parameters (e.g. the frozen PPO reference).
    public init(copying other: GPTModel) {
        config = other.config
        layout = other.layout
        parameters = FloatBuffer(count: layout.count)
        parameters.copy(from: other.parameters)
        gradients = FloatBuffer(count: layout.count)
        dropoutSeed = other.dropoutSeed
    }

    /// A replica for data-parallel work: the SAME parameter buffer as `other` (updates show at once), its
    /// own activation arena, KV cache and an empty gradient buffer (bound per shard by `ModelReplicas`).
    init(replicaOf other: GPTModel) {
        config = other.config
        layout = other.layout
        parameters = other.parameters
        gradients = FloatBuffer(count: 0)
        dropoutSeed = other.dropoutSeed
    }

    public var parameterCount: Int { layout.count }

    /// Why a training pass of `batch` rows of `time` tokens would not fit in this machine's memory, or
    /// nil (see `MemoryBudget.passProblem`).
    public func passMemoryProblem(batch: Int, time: Int) -> String? {
        MemoryBudget.passProblem(config, batch: batch, time: time)
    }

    /// Zeroes the gradients before a step's first `backward`. `lazily`: no pass over the buffer now;
    /// the next `backward` overwrites what it would add to and zeroes the rest (the same bytes as
    /// zeroing first; until that backward the buffer still holds the previous step's values).
    public func zeroGradients(lazily: Bool = false) {
        if lazily {
            gradientsStale = true
        } else {
            gradients.zero()
            gradientsStale = false
        }
    }

    /// View of one named parameter tensor (or its gradient).
    public func parameter(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        layout.tensor(named: name).map { UnsafeMutableBufferPointer(start: parameters.pointer + $0.offset, count: $0.count) }
    }

    public func gradient(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        layout.tensor(named: name).map { UnsafeMutableBufferPointer(start: gradients.pointer + $0.offset, count: $0.count) }
    }

    /// Lays out the activations of a (B, T) pass, growing the storage when needed.
    func reserve(batch: Int, time: Int, logitRows: LogitRows) -> ActivationLayout {
        if let c = current, c.batch == batch, c.time == time, c.logitRows == logitRows { return c }
        let layout = ActivationLayout(config: config, batch: batch, time: time, logitRows: logitRows)
        if layout.count > activations.count { activations = FloatBuffer(count: layout.count) }
        return layout
    }

    /// Releases the activation memory (it is rebuilt on the next forward).
    public func releaseActivations() {
        activations = FloatBuffer(count: 0)
        current = nil
    }

    @inline(__always) func act(_ offset: Int) -> UnsafeMutablePointer<Float> { activations.pointer + offset }
    @inline(__always) func param(_ offset: Int) -> UnsafeMutablePointer<Float> { parameters.pointer + offset }
    @inline(__always) func grad(_ offset: Int) -> UnsafeMutablePointer<Float> { gradients.pointer + offset }
}

/// Dropout settings of one forward pass: a generator and the pass number (for fresh masks).
struct DropoutStreams {
    let generator: Philox
    let pass: UInt64
    let embedding: Float, residual: Float, attention: Float

    func mask(_ p: Float, layer: Int, site: UInt64) -> DropoutMask? {
        p > 0 ? DropoutMask(probability: p, generator: generator, stream: streamID(pass, UInt64(layer), site)) : nil
    }
}
