import Tensor

/// Hyper-parameters of a GPT-2 model (names follow llm.c; `config.json` keys in brackets).
public struct GPTConfig: Sendable, Equatable, Codable {
    /// The MLP's nonlinearity [activation_function].
    public enum Activation: String, Sendable, Equatable, Codable {
        /// tanh approximation, GPT-2's own ("gelu_new"; also "gelu_pytorch_tanh", "gelu_fast").
        case geluTanh = "gelu_new"
        /// erf form, PyTorch's default ("gelu"; also "gelu_python").
        case geluExact = "gelu"
        /// max(0, x) ("relu").
        case relu = "relu"
        /// x·σ(x) ("silu"; also "swish").
        case silu = "silu"
        /// x·σ(1.702·x) ("quick_gelu").
        case quickGelu = "quick_gelu"
        /// The rest of transformers' elementwise activations (`PointwiseActivation`), by their names there.
        case relu6 = "relu6", leakyRelu = "leaky_relu", hardswish = "hardswish", reluSquared = "relu2", sigmoid = "sigmoid",
             tanh = "tanh", identity = "linear", mish = "mish", sqrtSoftplus = "sqrtsoftplus", clippedGelu = "gelu_10",
             laplace = "laplace"

        /// The activation a transformers `activation_function` name denotes, or nil when unsupported.
        public init?(huggingFaceName name: String) {
            switch name {
            case "gelu_new", "gelu_pytorch_tanh", "gelu_python_tanh", "gelu_fast", "gelu_accurate": self = .geluTanh
            case "gelu", "gelu_python": self = .geluExact
            case "relu": self = .relu
            case "silu", "swish": self = .silu
            default:
                guard let named = Activation(rawValue: name) else { return nil }
                self = named
            }
        }

        func forward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
            switch self {
            case .geluTanh: geluForward(out: out, input: input, count: count)
            case .geluExact: geluExactForward(out: out, input: input, count: count)
            case .relu: reluForward(out: out, input: input, count: count)
            case .silu: sigmoidGatedForward(out: out, input: input, count: count, slope: 1)
            case .quickGelu: sigmoidGatedForward(out: out, input: input, count: count, slope: 1.702)
            case .relu6: pointwiseForward(out: out, input: input, count: count, PointwiseActivation.relu6)
            case .leakyRelu: pointwiseForward(out: out, input: input, count: count, PointwiseActivation.leakyRelu)
            case .hardswish: pointwiseForward(out: out, input: input, count: count, PointwiseActivation.hardswish)
            case .reluSquared: pointwiseForward(out: out, input: input, count: count, PointwiseActivation.reluSquared)
            case .sigmoid: pointwiseForward(out: out, input: input, count: count, PointwiseActivation.sigmoid)
            case .tanh: pointwiseForward(out: out, input: input, count: count, PointwiseActivation.tanh)
            case .identity: if out != UnsafeMutablePointer(mutating: input) { out.update(from: input, count: count) }
            case .mish: pointwiseForward(out: out, input: input, count: count, PointwiseActivation.mish)
            case .sqrtSoftplus: pointwiseForward(out: out, input: input, count: count, PointwiseActivation.sqrtSoftplus)
            case .clippedGelu: pointwiseForward(out: out, input: input, count: count, PointwiseActivation.clippedGelu)
            case .laplace: pointwiseForward(out: out, input: input, count: count, PointwiseActivation.laplace)
            }
        }

        func backward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, count: Int) {
            switch self {
            case .geluTanh: geluBackward(dInput: dInput, dOut: dOut, input: input, count: count)
            case .geluExact: geluExactBackward(dInput: dInput, dOut: dOut, input: input, count: count)
            case .relu: reluBackward(dInput: dInput, dOut: dOut, input: input, count: count)
            case .silu: sigmoidGatedBackward(dInput: dInput, dOut: dOut, input: input, count: count, slope: 1)
            case .quickGelu: sigmoidGatedBackward(dInput: dInput, dOut: dOut, input: input, count: count, slope: 1.702)
            case .relu6: pointwiseBackward(dInput: dInput, dOut: dOut, input: input, count: count, PointwiseActivation.relu6Derivative)
            case .leakyRelu: pointwiseBackward(dInput: dInput, dOut: dOut, input: input, count: count, PointwiseActivation.leakyReluDerivative)
            case .hardswish: pointwiseBackward(dInput: dInput, dOut: dOut, input: input, count: count, PointwiseActivation.hardswishDerivative)
            case .reluSquared: pointwiseBackward(dInput: dInput, dOut: dOut, input: input, count: count, PointwiseActivation.reluSquaredDerivative)
            case .sigmoid: pointwiseBackward(dInput: dInput, dOut: dOut, input: input, count: count, PointwiseActivation.sigmoidDerivative)
            case .tanh: pointwiseBackward(dInput: dInput, dOut: dOut, input: input, count: count, PointwiseActivation.tanhDerivative)
            case .identity: if dInput != UnsafeMutablePointer(mutating: dOut) { dInput.update(from: dOut, count: count) }
            case .mish: pointwiseBackward(dInput: dInput, dOut: dOut, input: input, count: count, PointwiseActivation.mishDerivative)
            case .sqrtSoftplus: pointwiseBackward(dInput: dInput, dOut: dOut, input: input, count: count, PointwiseActivation.sqrtSoftplusDerivative)
            case .clippedGelu: pointwiseBackward(dInput: dInput, dOut: dOut, input: input, count: count, PointwiseActivation.clippedGeluDerivative)
            case .laplace: pointwiseBackward(dInput: dInput, dOut: dOut, input: input, count: count, PointwiseActivation.laplaceDerivative)
            }
        }
    }

    /// V [vocab_size]
    public var vocabSize: Int
    /// Largest sequence length, rows of the position table [n_positions]
    public var maxPositions: Int
    /// C [n_embd]
    public var channels: Int
    /// L [n_layer]
    public var layers: Int
    /// NH [n_head]
    public var heads: Int
    /// [activation_function]
    public var activation: Activation = .geluTanh
    /// Width of the MLP's hidden layer [n_inner]; nil is GPT-2's 4 × n_embd.
    public var innerChannels: Int? = nil
    /// The MLP's hidden width in effect.
    public var mlpChannels: Int { innerChannels ?? 4 * channels }
    /// Attention scores are divided by √head_size [scale_attn_weights, default true] …
    public var scaleAttentionWeights = true
    /// … and by layer index + 1 [scale_attn_by_inverse_layer_idx, default false].
    public var scaleAttentionByInverseLayerIndex = false

    /// The factor of layer `layer`'s attention scores Q·Kᵀ, as transformers' GPT2Attention applies it.
    public func attentionScale(layer: Int) -> Float {
        var scale: Float = scaleAttentionWeights ? 1 / Float(channels / heads).squareRoot() : 1
        if scaleAttentionByInverseLayerIndex { scale /= Float(layer + 1) }
        return scale
    }
    /// The LM head is the token embedding (true, GPT-2's default) or its own `lm_head.weight` [V, C]
    /// [tie_word_embeddings].
    public var tieWordEmbeddings = true
    /// [layer_norm_epsilon]
    public var layerNormEpsilon: Float = 1e-5
    /// Std of the normal initialisation [initializer_range].
    public var initializerRange: Float = 0.02
    /// Dropout after the embedding sum [embd_pdrop], after each residual branch [resid_pdrop] and on
    /// attention probabilities [attn_pdrop]. Only applied when a forward pass asks for it.
    public var embeddingDropout: Float = 0
    public var residualDropout: Float = 0
    public var attentionDropout: Float = 0
    /// Scalar value head per token (TRL `v_head.summary`, the PPO critic).
    public var valueHead: Bool = false
    /// Scalar reward head read at the last non-pad token (`score`, GPT2ForSequenceClassification).
    public var rewardHead: Bool = false
    public var bosTokenID: Int? = nil
    public var eosTokenID: Int? = nil
    public var padTokenID: Int? = nil

    public init(vocabSize: Int, maxPositions: Int, channels: Int, layers: Int, heads: Int,
                valueHead: Bool = false, rewardHead: Bool = false) {
        self.vocabSize = vocabSize
        self.maxPositions = maxPositions
        self.channels = channels
        self.layers = layers
        self.heads = heads
        self.valueHead = valueHead
        self.rewardHead = rewardHead
    }

    /// Throws a `GPTConfigError` naming the field when the shape is inconsistent.
    public func validate() throws(GPTConfigError) {
        func check(_ ok: Bool, _ field: String, _ message: String) throws(GPTConfigError) {
            if !ok { throw GPTConfigError(field: field, message: message) }
        }
        try check(vocabSize > 0, "vocab_size", "must be positive, got \(vocabSize)")
        try check(maxPositions > 0, "n_positions", "must be positive, got \(maxPositions)")
        try check(layers > 0, "n_layer", "must be positive, got \(layers)")
        try check(heads > 0, "n_head", "must be positive, got \(heads)")
        try check(channels > 0 && channels % heads == 0, "n_embd",
                  "must be a positive multiple of n_head (\(heads)), got \(channels)")
        if let inner = innerChannels { try check(inner > 0 && inner <= 1 << 26, "n_inner", "must be null or in 1...\(1 << 26), got \(inner)") }
        // Bound every size before anything multiplies them (layouts, memory checks): no overflow, and a
        // clear error for a config that could never be allocated.
        let limit = 1 << 24
        for (name, value) in [("vocab_size", vocabSize), ("n_positions", maxPositions), ("n_embd", channels), ("n_layer", layers)] {
            try check(value <= limit, name, "\(value) is beyond the supported \(limit)")
        }
        // Far beyond any machine, and enough to keep every offset of the parameter layout inside Int.
        let parameters = estimatedParameterCount
        try check(parameters < 0x1p56, "n_embd",
                  "\(channels) with vocab_size \(vocabSize), n_positions \(maxPositions) and n_layer \(layers) means "
                      + "\(parameters) parameters, far beyond any machine's memory")
        try check(layerNormEpsilon > 0, "layer_norm_epsilon", "must be positive, got \(layerNormEpsilon)")
        for (name, p) in [("embd_pdrop", embeddingDropout), ("resid_pdrop", residualDropout), ("attn_pdrop", attentionDropout)] {
            try check(p >= 0 && p < 1, name, "must be in [0, 1), got \(p)")
        }
    }

    /// Parameter count in floating point (no overflow for any input): embeddings, blocks, ln_f, an
    /// untied LM head and the value/reward heads.
    public var estimatedParameterCount: Double {
        let v = Double(vocabSize), p = Double(maxPositions), c = Double(channels), l = Double(layers)
        let inner = innerChannels.map(Double.init) ?? 4 * c
        return v * c + p * c + l * (4 * c * c + 2 * c * inner + 9 * c + inner) + 2 * c + (tieWordEmbeddings ? 0 : v * c)
            + (valueHead ? c + 1 : 0) + (rewardHead ? c : 0)
    }

    /// Config S of the benchmark (4.7 M parameters).
    public static let benchmarkS = GPTConfig(vocabSize: 6000, maxPositions: 128, channels: 256, layers: 4, heads: 4)
    /// Config M of the benchmark (22.1 M parameters).
    public static let benchmarkM = GPTConfig(vocabSize: 6000, maxPositions: 256, channels: 512, layers: 6, heads: 8)
    /// Config L of the benchmark: the shape of the classic Chinese demo's pretrained GPT-2
    /// (uer/gpt2-chinese-cluecorpussmall: 12 × 768, 12 heads, 1,024 positions, vocabulary 21,128; 102 M parameters).
    public static let benchmarkL = GPTConfig(vocabSize: 21128, maxPositions: 1024, channels: 768, layers: 12, heads: 12)
}

public struct GPTConfigError: Error, CustomStringConvertible, Equatable {
    public let field: String
    public let message: String
    public var description: String { "invalid GPT config: \(field) \(message)" }
}
