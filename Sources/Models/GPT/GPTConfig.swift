/// Hyper-parameters of a GPT-2 model (names follow llm.c; `config.json` keys in brackets).
public struct GPTConfig: Sendable, Equatable, Codable {
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
        try check(layerNormEpsilon > 0, "layer_norm_epsilon", "must be positive, got \(layerNormEpsilon)")
        for (name, p) in [("embd_pdrop", embeddingDropout), ("resid_pdrop", residualDropout), ("attn_pdrop", attentionDropout)] {
            try check(p >= 0 && p < 1, name, "must be in [0, 1), got \(p)")
        }
    }

    /// Config S of the benchmark (4.7 M parameters).
    public static let benchmarkS = GPTConfig(vocabSize: 6000, maxPositions: 128, channels: 256, layers: 4, heads: 4)
    /// Config M of the benchmark (22.1 M parameters).
    public static let benchmarkM = GPTConfig(vocabSize: 6000, maxPositions: 256, channels: 512, layers: 6, heads: 8)
}

public struct GPTConfigError: Error, CustomStringConvertible, Equatable {
    public let field: String
    public let message: String
    public var description: String { "invalid GPT config: \(field) \(message)" }
}
