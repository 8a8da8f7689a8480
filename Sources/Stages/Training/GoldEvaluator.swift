import Foundation
import Models
import Tensor

/// Measures the policy of an RL stage against its gold scorer while it trains: a fixed set of held-out
/// prompts, one completion each, sampled from the current policy with a random stream of its own (the
/// same draws at every evaluation, so successive measurements differ only by the policy), then
///
/// - `gold/score`, `gold/score_std`: the gold scorer's mean and population std over the set;
/// - `gold/proxy`, `gold/proxy_std`: the training reward (the proxy, before `score_scale` and penalties)
///   on the same completions;
/// - `gold/kl`: mean over completions of Σₜ log π(yₜ) − log π_ref(yₜ) (k1, as `objective/kl`);
/// - `gold/rewards/<name>/mean|std` per gold source when there are several.
///
/// The gold scorer never reaches the gradient, and the evaluation draws nothing from the trainer's
/// random stream: a run's model is the same bytes with or without a gold scorer.
public final class GoldEvaluator {
    public let gold: RewardScorer
    public let proxy: RewardScorer
    /// The held-out prompts, each `[EOS] + tokens`, one completion each.
    public let queries: [[Int32]]
    /// Their dataset columns, one value per query.
    public let columns: [String: [RewardJSON]]
    public let responseLength: Int
    public let temperature: Float
    /// Completions end at this token when the trainer truncates at EOS.
    public let stopToken: Int32?
    public let pad: Int32
    public let seed: UInt64
    /// Steps between evaluations.
    public let every: Int

    public init(gold: RewardScorer, proxy: RewardScorer, queries: [[Int32]], columns: [String: [RewardJSON]],
                responseLength: Int, temperature: Float, stopToken: Int32?, pad: Int32, seed: UInt64, every: Int) throws {
        guard !queries.isEmpty else { throw StageError.badParam("gold_prompts", "the gold set has no prompts") }
        for name in columns.keys.sorted() where columns[name]!.count != queries.count {
            throw StageError.failed("gold set: column '\(name)' has \(columns[name]!.count) values for \(queries.count) prompts")
        }
        self.gold = gold; self.proxy = proxy; self.queries = queries; self.columns = columns
        self.responseLength = responseLength; self.temperature = temperature; self.stopToken = stopToken
        self.pad = pad; self.seed = seed; self.every = every
    }

    /// The gold metrics of `policy`, with the KL to `reference`.
    public func evaluate(policy: ModelReplicas, reference: ModelReplicas) throws -> [(String, Double)] {
        var random = RandomStream(seed: seed, stream: streamID(0x474F_4C44)) // "GOLD"
        let b = queries.count, r = responseLength
        let responses = ResponseSampler.sample(policy, queries: queries, length: r, temperature: temperature, pad: pad,
                                               eos: stopToken, random: &random)
        var mask = [Float](repeating: 1, count: b * r)
        if let stopToken { mask = PPOMath.truncationMask(responses: responses, eos: stopToken, length: r).mask }
        let qr = QueryResponseBatch(queries: queries, responses: responses, responseMask: mask, responseLength: r, pad: pad)
        let own = policy.scoreResponses(qr, temperature: temperature, entropy: false)
        let ref = reference.scoreResponses(qr, temperature: temperature, entropy: false)
        var kl = 0.0
        for i in 0..<(b * r) where mask[i] > 0 { kl += Double(own.logp[i]) - Double(ref.logp[i]) }
        let rows = (0..<b).map { row in (0..<r).filter { mask[row * r + $0] > 0 }.map { responses[row * r + $0] } }

        let scored: RewardScorer.Scored
        do { scored = try gold.score(queries: queries, responses: rows, assembled: qr, columns: columns) } catch {
            throw StageError.failed("gold scorer: \(error)")
        }
        let proxyRewards = try proxy.rewards(queries: queries, responses: rows, assembled: qr, columns: columns)
        let (score, scoreStd) = RewardScorer.meanAndStd(scored.rewards)
        let (proxyMean, proxyStd) = RewardScorer.meanAndStd(proxyRewards)
        return [("gold/score", score), ("gold/score_std", scoreStd), ("gold/proxy", proxyMean), ("gold/proxy_std", proxyStd),
                ("gold/kl", kl / Double(b))]
            + scored.metrics.map { ("gold/" + $0.0, $0.1) }
    }

    public func close() { gold.close() }
}
