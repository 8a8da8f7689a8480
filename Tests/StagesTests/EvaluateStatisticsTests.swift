import Foundation
import Testing
@testable import Stages

@Suite struct EvaluateStatisticsTests {
    @Test func distinctN() {
        // "abab" + "abc": unigrams a b a b a b c → 3 unique / 7; bigrams ab ba ab ab bc → 3 unique / 5.
        let seqs = [Array("abab"), Array("abc")]
        #expect(abs(TextStatistics.distinct(seqs, n: 1) - 3.0 / 7.0) < 1e-12)
        #expect(abs(TextStatistics.distinct(seqs, n: 2) - 3.0 / 5.0) < 1e-12)
        #expect(TextStatistics.distinct([Array("a")], n: 2) == 0)
    }

    @Test func perplexity() {
        #expect(abs(TextStatistics.perplexity(totalNLL: 4 * log(3.0), tokens: 4) - 3) < 1e-12)
    }
}
