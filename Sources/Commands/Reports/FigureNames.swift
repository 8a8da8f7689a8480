/// The readable name of each evaluation figure (metrics.json key → header), one table for every
/// report table and chart that names one.
enum FigureNames {
    static let headers: [(key: String, header: String)] = [
        ("judge_positive_rate", "judge positive rate"),
        ("judge_positive_rate_label_1", "judge positive rate, prompts of label 1"),
        ("judge_positive_rate_label_0", "judge positive rate, prompts of label 0"), ("judge_score_mean", "judge score"), ("rm_reward_mean", "RM reward"),
        ("kl_to_reference_nats", "KL to SFT (nats)"), ("heldout_perplexity", "held-out perplexity"),
        ("distinct_2", "distinct-2"), ("distinct_1", "distinct-1"), ("response_chars_mean", "mean length (chars)"),
        ("rm_win_rate", "RM win rate vs SFT"), ("rm_reward_gain", "RM reward gain"),
        ("judge_positive_rate_gain", "judge positive rate gain"),
    ]

    /// A figure's header; the key itself for a figure without one.
    static func header(_ key: String) -> String { headers.first { $0.key == key }?.header ?? key }

    /// The keys with their headers, in the order given; `renamed` overrides a header where a table's
    /// columns already say what it is measured against (a per-model column needs no "to SFT").
    static func named(_ keys: [String], renamed: [String: String] = [:]) -> [(key: String, header: String)] {
        keys.map { key in (key, renamed[key] ?? header(key)) }
    }
}
