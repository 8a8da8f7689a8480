/// One batch to score: decoded text for text scorers, the token ids for the reward model, and the
/// dataset's extra columns, one value per row.
///
/// The trainers already hold the token ids and, for PPO and evaluate, the assembled (B, P + R) batch:
/// carrying them here lets the reward model score without re-encoding text or rebuilding the batch,
/// so putting it behind this interface costs it nothing.
public struct RewardRequest: Sendable {
    /// The prompt of each row, decoded (special tokens dropped).
    public var prompts: [String]
    /// The completion of each row, decoded (ends at EOS when the trainer truncates there).
    public var completions: [String]
    /// Extra dataset columns by name, each with one value per row (empty when the prompts carry none).
    public var columns: [String: [RewardJSON]]
    /// The rows as token ids, when the caller has them.
    public var tokens: Tokens?

    public struct Tokens: Sendable {
        /// The query tokens of each row, starting with the separator, as the policy saw them.
        public var queries: [[Int32]]
        /// The response tokens of each row (shorter than the response length when EOS-truncated).
        public var responses: [[Int32]]
        /// The batch the caller built for its own passes; the reward model reads it as is.
        public var assembled: QueryResponseBatch?

        public init(queries: [[Int32]], responses: [[Int32]], assembled: QueryResponseBatch? = nil) {
            self.queries = queries; self.responses = responses; self.assembled = assembled
        }
    }

    public init(prompts: [String], completions: [String], columns: [String: [RewardJSON]] = [:], tokens: Tokens? = nil) {
        self.prompts = prompts; self.completions = completions; self.columns = columns; self.tokens = tokens
    }

    public var count: Int { completions.count }

    /// The column names in a fixed order (sorted by UTF-8 bytes), for requests and messages.
    public var columnNames: [String] { columns.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) } }

    /// The request as scorers receive it: `{"prompts": [...], "completions": [...], "columns": {...}}`.
    public var pipeJSON: RewardJSON {
        .object([
            ("prompts", .array(prompts.map { .string($0) })),
            ("completions", .array(completions.map { .string($0) })),
            ("columns", .object(columnNames.map { ($0, .array(columns[$0]!)) })),
        ])
    }
}

/// Anything that gives one reward per (prompt, completion) row: a reward model, a command child, an
/// HTTP endpoint, a built-in rule, or a weighted sum of these. PPO, GRPO/RLOO and evaluate score
/// through it; `RewardScorer` wraps a source with the checks every caller needs.
public protocol RewardSource: AnyObject {
    /// The name the source is logged under (`rewards/<name>/mean`).
    var name: String { get }
    /// True when the same request gives the same rewards by construction (a model forward, a rule),
    /// so the first-batch reproducibility check can skip it.
    var deterministicByConstruction: Bool { get }
    /// False when the source reads only the request's token ids (the reward model): callers with
    /// tokens then skip decoding text for it.
    var needsText: Bool { get }
    /// One reward per row of `request`.
    func score(_ request: RewardRequest) throws -> [Float]
    /// Releases what the source holds (a child process, a connection); idempotent.
    func close()
}

extension RewardSource {
    public var deterministicByConstruction: Bool { false }
    public var needsText: Bool { true }
    public func close() {}

    /// Scores decoded text alone (no token ids): the interface the other scorers see.
    public func score(prompts: [String], completions: [String], columns: [String: [RewardJSON]] = [:]) throws -> [Float] {
        try score(RewardRequest(prompts: prompts, completions: completions, columns: columns))
    }
}

/// A source's answer failed the checks every answer must pass: one finite reward per row.
public enum RewardCheck {
    /// Throws naming the source when `rewards` has the wrong count or a non-finite value.
    public static func validate(_ rewards: [Float], rows: Int, source: String, detail: String = "") throws {
        let suffix = detail.isEmpty ? "" : "\n" + detail
        guard rewards.count == rows else {
            throw StageError.failed("reward source '\(source)' gave \(rewards.count) rewards for \(rows) completions\(suffix)")
        }
        if let bad = rewards.firstIndex(where: { !$0.isFinite }) {
            throw StageError.failed("reward source '\(source)' gave a non-finite reward (\(rewards[bad])) for completion \(bad)\(suffix)")
        }
    }
}
