import Models

/// What PPO, GRPO and evaluate hold: the stage's reward sources behind the checks every caller needs.
/// It decodes token rows into the request's text, validates every source's answer (one finite reward
/// per row), returns per-source metrics (`rewards/<name>/mean|std`, when there are several sources),
/// and on the first batch asks each source that is not deterministic by construction a second time:
/// different rewards for the same batch are logged as a warning and flagged in the metrics
/// (`rewards/<name>/nondeterministic` 1; 0 when the check passed), because such a scorer breaks
/// `pipe reproduce`.
public final class RewardScorer {
    public let sources: WeightedRewardSource
    let decode: ([Int32]) -> String
    let log: (String) -> Void
    /// Whether the first-batch reproducibility check has run.
    public private(set) var checked = false

    public struct Scored {
        /// The combined reward of each row.
        public var rewards: [Float]
        /// Per-source metrics of this batch, in source order.
        public var metrics: [(String, Double)]
        /// Each source's own rewards (before weighting), in source order.
        public var components: [(name: String, rewards: [Float])]
    }

    /// - Parameters:
    ///   - decode: token ids → text (special tokens dropped), for the requests' text.
    ///   - log: the stage log.
    public init(sources: WeightedRewardSource, decode: @escaping ([Int32]) -> String, log: @escaping (String) -> Void) {
        self.sources = sources
        self.decode = decode
        self.log = log
    }

    /// Scores token rows: `queries` and `responses` as the policy produced them (responses already cut
    /// at EOS when the trainer truncates), `assembled` the batch the caller built for its own passes.
    public func score(queries: [[Int32]], responses: [[Int32]], assembled: QueryResponseBatch? = nil,
                      columns: [String: [RewardJSON]] = [:]) throws -> Scored {
        try score(request(queries: queries, responses: responses, assembled: assembled, columns: columns))
    }

    /// The combined reward of each token row, without the first-batch reproducibility check or any
    /// metrics: for side evaluations (the gold set's proxy reward) that must not change what the
    /// training batches log.
    public func rewards(queries: [[Int32]], responses: [[Int32]], assembled: QueryResponseBatch? = nil,
                        columns: [String: [RewardJSON]] = [:]) throws -> [Float] {
        let request = self.request(queries: queries, responses: responses, assembled: assembled, columns: columns)
        return sources.combine(try sources.scoreComponents(request), rows: request.count)
    }

    func request(queries: [[Int32]], responses: [[Int32]], assembled: QueryResponseBatch?,
                 columns: [String: [RewardJSON]]) -> RewardRequest {
        // Sources that read only token ids (the reward model) need no text: skip decoding for them.
        let text = sources.needsText
        return RewardRequest(prompts: text ? queries.map(decode) : Array(repeating: "", count: queries.count),
                             completions: text ? responses.map(decode) : Array(repeating: "", count: responses.count),
                             columns: columns,
                             tokens: .init(queries: queries, responses: responses, assembled: assembled))
    }

    public func score(_ request: RewardRequest) throws -> Scored {
        for name in request.columnNames where request.columns[name]!.count != request.count {
            let values = request.columns[name]!
            throw StageError.failed("reward request: column '\(name)' has \(values.count) values for \(request.count) rows")
        }
        let parts = try sources.scoreComponents(request)
        var metrics: [(String, Double)] = []
        if !checked {
            checked = true
            metrics += try checkDeterminism(request, first: parts)
        }
        if sources.components.count > 1 {
            for (c, rewards) in zip(sources.components, parts) {
                let (mean, std) = Self.meanAndStd(rewards)
                metrics += [("rewards/\(c.name)/mean", mean), ("rewards/\(c.name)/std", std)]
            }
        }
        return Scored(rewards: sources.combine(parts, rows: request.count), metrics: metrics,
                      components: zip(sources.components, parts).map { ($0.name, $1) })
    }

    /// Asks each source that could vary a second time; returns the flags.
    func checkDeterminism(_ request: RewardRequest, first: [[Float]]) throws -> [(String, Double)] {
        var flags: [(String, Double)] = []
        for (c, rewards) in zip(sources.components, first) where !c.source.deterministicByConstruction {
            let again = try c.source.score(request)
            try RewardCheck.validate(again, rows: request.count, source: c.name)
            let differing = zip(rewards, again).filter { $0.bitPattern != $1.bitPattern }.count
            if differing > 0 {
                let largest = zip(rewards, again).map { abs(Double($0) - Double($1)) }.max() ?? 0
                log("warning: reward source '\(c.name)' gave different rewards for the same batch asked twice (\(differing) of \(request.count) rows differ, by up to \(largest)); the same key will not give the same bytes and `pipe reproduce` will report this stage as diverged — seed the scorer and make it deterministic")
            } else {
                log("reward source '\(c.name)': same rewards for the first batch asked twice (deterministic on it)")
            }
            flags.append(("rewards/\(c.name)/nondeterministic", differing > 0 ? 1 : 0))
        }
        return flags
    }

    /// Mean and population standard deviation.
    static func meanAndStd(_ x: [Float]) -> (Double, Double) {
        guard !x.isEmpty else { return (0, 0) }
        let n = Double(x.count)
        let mean = x.reduce(0.0) { $0 + Double($1) } / n
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return (mean, variance.squareRoot())
    }

    public func close() { sources.close() }

    /// A scorer with the reward model as its only source, for callers without a tokenizer (tests,
    /// benchmarks): text is never needed, so token ids are never decoded.
    public static func model(_ model: GPTModel, pad: Int32, pool: WorkerPool = WorkerPool(threads: 1),
                             log: @escaping (String) -> Void = { _ in }) throws -> RewardScorer {
        let sources = try WeightedRewardSource([.init(weight: 1, source: try RewardModelSource(model: model, pad: pad, pool: pool))])
        return RewardScorer(sources: sources, decode: { ids in ids.map(String.init).joined(separator: " ") }, log: log)
    }
}
