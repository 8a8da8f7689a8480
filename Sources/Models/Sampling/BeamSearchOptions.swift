/// When beam search stops for one prompt, as transformers' `early_stopping` (default `false`: `.heuristic`).
public enum BeamStopping: String, Sendable, Equatable, CaseIterable {
    /// `early_stopping=False`: stop once the best running beam, scored at its current length, cannot beat
    /// the worst of `numBeams` finished hypotheses.
    case heuristic = "false"
    /// `early_stopping=True`: stop as soon as `numBeams` hypotheses have finished.
    case whenFull = "true"
    /// `early_stopping="never"`: as `.heuristic`, but with a positive length penalty the running beam is
    /// scored at the longest possible length (the canonical beam search bound).
    case never
}

/// How `GPTModel.beamSearch` decodes: deterministic (no temperature, no seed), as transformers'
/// `generate(num_beams=…, do_sample=False)` with its defaults.
public struct BeamSearchOptions: Sendable, Equatable {
    /// Tokens generated at most per hypothesis.
    public var maxNewTokens: Int
    /// Beams kept per prompt (1 = greedy decoding).
    public var numBeams: Int
    /// A finished hypothesis scores Σ log p / (generated tokens)^lengthPenalty: > 0 favours longer ones.
    public var lengthPenalty: Float = 1
    public var earlyStopping: BeamStopping = .heuristic
    /// Best hypotheses returned per prompt (≤ numBeams), best first.
    public var numReturnSequences: Int = 1
    /// A hypothesis finishes with this token (nil = every hypothesis runs `maxNewTokens`).
    public var eosTokenID: Int32? = nil
    /// Further tokens that finish a hypothesis as `eosTokenID` does (several EOS ids in
    /// generation_config.json). `minNewTokens` suppresses `eosTokenID` only.
    public var otherEOSTokenIDs: [Int32] = []
    /// EOS is suppressed before this many new tokens.
    public var minNewTokens: Int = 0

    public init(maxNewTokens: Int, numBeams: Int, lengthPenalty: Float = 1, earlyStopping: BeamStopping = .heuristic,
                numReturnSequences: Int = 1, eosTokenID: Int32? = nil, minNewTokens: Int = 0) {
        self.maxNewTokens = maxNewTokens
        self.numBeams = numBeams
        self.lengthPenalty = lengthPenalty
        self.earlyStopping = earlyStopping
        self.numReturnSequences = numReturnSequences
        self.eosTokenID = eosTokenID
        self.minNewTokens = minNewTokens
    }

    /// True when `token` finishes a hypothesis.
    func endsHypothesis(_ token: Int32) -> Bool { token == eosTokenID || otherEOSTokenIDs.contains(token) }
}

/// One finished beam-search hypothesis.
public struct BeamHypothesis: Sendable, Equatable {
    /// Generated tokens, EOS included when it ended with EOS.
    public var tokens: [Int32]
    /// Σ log p of the tokens (full-vocabulary softmax of the raw logits).
    public var logProb: Float
    /// `logProb / tokens.count^lengthPenalty`: what the hypotheses are ranked by.
    public var score: Float
}

/// The result of beam search over a batch of prompts.
public struct BeamGeneration: Sendable, Equatable {
    /// [prompt][rank]: `numReturnSequences` hypotheses per prompt, best (highest score) first.
    public var hypotheses: [[BeamHypothesis]]

    public init(hypotheses: [[BeamHypothesis]]) { self.hypotheses = hypotheses }

    /// The best hypothesis of every prompt.
    public var best: [BeamHypothesis] { hypotheses.map { $0[0] } }
}
