import Models
import Tensor
import Tokenizer

/// `model`: a reward model read at the last real token of `query + response` (its reward head).
///
/// A request's own tokens are used as they come: an assembled batch is scored as is (PPO, evaluate),
/// per-row tokens are packed into one batch (GRPO), and text alone is encoded with the tokenizer
/// (`[EOS] + prompt`, then the completion), for callers that have no token ids.
public final class RewardModelSource: RewardSource {
    public let name: String
    public let model: GPTModel
    public let pad: Int32
    /// Encodes text-only requests (nil: such requests are an error).
    public let tokenizer: PretrainedTokenizer?
    /// Scores in fixed row shards on the stage's worker threads (the same bytes for any thread count).
    let replicas: ModelReplicas

    public var deterministicByConstruction: Bool { true }
    /// Reads token ids when the request has them (text is only encoded for text-only requests).
    public var needsText: Bool { false }

    public init(model: GPTModel, pad: Int32, tokenizer: PretrainedTokenizer? = nil, name: String = "model",
                pool: WorkerPool = WorkerPool(threads: 1)) throws {
        guard model.config.rewardHead else { throw StageError.failed("the reward model has no reward head (score.weight)") }
        self.name = name
        self.model = model
        self.replicas = ModelReplicas(model, pool: pool)
        self.pad = pad
        self.tokenizer = tokenizer
    }

    public func score(_ request: RewardRequest) throws -> [Float] {
        if let assembled = request.tokens?.assembled { return score(assembled) }
        let tokens = try request.tokens ?? encode(request)
        return try score(queries: tokens.queries, responses: tokens.responses)
    }

    /// Packs per-row tokens into one batch: queries left-padded, responses padded on the right and
    /// masked out of attention past their end.
    public func score(queries: [[Int32]], responses: [[Int32]]) throws -> [Float] {
        guard queries.count == responses.count else {
            throw StageError.failed("reward model: \(queries.count) queries for \(responses.count) responses")
        }
        guard !queries.isEmpty else { return [] }
        guard queries.allSatisfy({ !$0.isEmpty }) else { throw StageError.failed("reward model: an empty query (it must start with the separator)") }
        let length = max(1, responses.map(\.count).max() ?? 1)
        let longest = (queries.map(\.count).max() ?? 0) + length
        guard longest <= model.config.maxPositions else {
            throw StageError.failed("reward model: query + response (\(longest) tokens) exceeds its n_positions (\(model.config.maxPositions))")
        }
        var tokens = [Int32](repeating: pad, count: responses.count * length)
        var mask = [Float](repeating: 0, count: responses.count * length)
        for (row, response) in responses.enumerated() {
            for (t, token) in response.enumerated() { tokens[row * length + t] = token; mask[row * length + t] = 1 }
        }
        return score(QueryResponseBatch(queries: queries, responses: tokens, responseMask: mask, responseLength: length, pad: pad))
    }

    /// Scores an already assembled batch (the trainers have one: no need to rebuild it).
    public func score(_ batch: QueryResponseBatch) -> [Float] {
        replicas.rewards(batch.batch)
    }

    func encode(_ request: RewardRequest) throws -> RewardRequest.Tokens {
        guard let tokenizer else {
            throw StageError.failed("reward model '\(name)': this caller passes text only and no tokenizer was given to encode it")
        }
        let queries = request.prompts.map { ModelArtifacts.withBOS(tokenizer.encode($0, allowSpecial: false), eos: tokenizer.endOfTextId) }
        let responses = request.completions.map { tokenizer.encode($0, allowSpecial: false) }
        return RewardRequest.Tokens(queries: queries, responses: responses)
    }
}
