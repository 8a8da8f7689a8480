import Models
import Tensor

/// Anything that gives one scalar reward per sampled (query, response) row: a reward model today; a
/// judge, a rule or a remote scorer can plug into the critic-free trainers the same way.
public protocol RewardSource: AnyObject {
    /// - Parameters:
    ///   - queries: the prompt tokens of each row (starting with the separator, as the policy saw them).
    ///   - responses: the response tokens of each row (shorter than the response length when EOS-truncated).
    /// - Returns: one finite reward per row.
    func score(queries: [[Int32]], responses: [[Int32]]) throws -> [Float]
}

/// A reward model read at the last real token of `query + response` (its reward head), as the `ppo`
/// stage scores.
public final class RewardModelSource: RewardSource {
    public let model: GPTModel
    public let pad: Int32

    public init(model: GPTModel, pad: Int32) throws {
        guard model.config.rewardHead else { throw StageError.failed("the reward model has no reward head (score.weight)") }
        self.model = model
        self.pad = pad
    }

    public func score(queries: [[Int32]], responses: [[Int32]]) throws -> [Float] {
        precondition(queries.count == responses.count, "RewardModelSource: \(queries.count) queries, \(responses.count) responses")
        let length = max(1, responses.map(\.count).max() ?? 1)
        var tokens = [Int32](repeating: pad, count: responses.count * length)
        var mask = [Float](repeating: 0, count: responses.count * length)
        for (row, response) in responses.enumerated() {
            for (t, token) in response.enumerated() { tokens[row * length + t] = token; mask[row * length + t] = 1 }
        }
        return score(QueryResponseBatch(queries: queries, responses: tokens, responseMask: mask, responseLength: length, pad: pad))
    }

    /// Scores an already assembled batch (the trainers have one: no need to rebuild it).
    public func score(_ batch: QueryResponseBatch) -> [Float] {
        model.forward(batch.batch, computeLogits: false)
        return Array(model.rewards)
    }
}
