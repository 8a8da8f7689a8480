import Foundation

/// Diversity and likelihood summaries used by `evaluate`.
public enum TextStatistics {
    /// distinct-n: unique n-grams / total n-grams over all sequences (n-grams do not cross sequences).
    /// Returns 0 when no sequence is long enough.
    public static func distinct<T: Hashable>(_ sequences: [[T]], n: Int) -> Double {
        precondition(n >= 1)
        var seen = Set<[T]>()
        var total = 0
        for seq in sequences where seq.count >= n {
            for start in 0...(seq.count - n) {
                seen.insert(Array(seq[start..<(start + n)]))
                total += 1
            }
        }
        return total == 0 ? 0 : Double(seen.count) / Double(total)
    }

    /// exp(Σ NLL / tokens): perplexity from a summed negative log-likelihood (nats) over `tokens` tokens.
    public static func perplexity(totalNLL: Double, tokens: Int) -> Double {
        tokens == 0 ? .nan : Foundation.exp(totalNLL / Double(tokens))
    }
}
