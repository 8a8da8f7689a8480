/// How `GPTModel.generate` picks tokens. Defaults: full-distribution multinomial at temperature 1.
public struct SamplingOptions: Sendable, Equatable, Codable {
    /// Number of tokens to generate per row (fewer when every row has emitted EOS).
    public var maxNewTokens: Int
    /// Logits are divided by this before top-k/top-p/sampling and for the returned log-probs.
    public var temperature: Float = 1
    /// Keep only the k most likely tokens (0 = off).
    public var topK: Int = 0
    /// Keep the smallest set of tokens whose probability reaches p (1 = off).
    public var topP: Float = 1
    /// Argmax instead of sampling.
    public var greedy: Bool = false
    /// A row stops after emitting this token (nil = always generate `maxNewTokens`).
    public var eosTokenID: Int32? = nil
    /// Further tokens that end a row as `eosTokenID` does (a model whose generation_config.json lists
    /// several EOS ids). `minNewTokens` suppresses `eosTokenID` only.
    public var otherEOSTokenIDs: [Int32] = []
    /// EOS is suppressed before this many new tokens.
    public var minNewTokens: Int = 0
    /// Written after a row's EOS (with log-prob 0).
    public var padTokenID: Int32 = 0
    /// Row b, step s draws uniform (seed, stream b, counter s): reproducible, independent of batching
    /// order and threads. Use a different seed per rollout.
    public var seed: UInt64 = 0

    public init(maxNewTokens: Int, temperature: Float = 1, topK: Int = 0, topP: Float = 1, greedy: Bool = false,
                eosTokenID: Int32? = nil, minNewTokens: Int = 0, padTokenID: Int32 = 0, seed: UInt64 = 0) {
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.greedy = greedy
        self.eosTokenID = eosTokenID
        self.minNewTokens = minNewTokens
        self.padTokenID = padTokenID
        self.seed = seed
    }

    /// True when `token` ends a row.
    func endsRow(_ token: Int32) -> Bool { token == eosTokenID || otherEOSTokenIDs.contains(token) }
}

/// The result of batched generation.
public struct Generation: Sendable, Equatable {
    public let batch: Int
    /// Columns of `tokens`/`logProbs` (the number of steps actually run, ≤ maxNewTokens).
    public let steps: Int
    /// [B, steps] generated tokens; after a row's EOS: `padTokenID`.
    public var tokens: [Int32]
    /// [B, steps] log-probability of each generated token under softmax(logits / temperature) over the
    /// full vocabulary (what PPO recomputes; top-k/top-p only restrict the draw); 0 after EOS.
    public var logProbs: [Float]
    /// Generated tokens per row, EOS included.
    public var lengths: [Int]

    public func row(_ b: Int) -> ArraySlice<Int32> { tokens[b * steps ..< b * steps + lengths[b]] }
}
