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

    /// The judge's positive rate per prompt class: only labelled prompts count, each class apart.
    @Test func judgeRatePerPromptLabel() {
        func sample(_ judge: Double, _ label: Int?) -> EvaluateStage.Sample {
            var s = EvaluateStage.Sample(promptTokens: [0], responseTokens: [1], promptText: "p", responseText: "r")
            s.judgePositive = judge
            s.promptLabel = label
            return s
        }
        // A classic prompt (no label), three of label 1 (two positive), two of label 0 (one positive).
        let samples = [sample(0.9, nil), sample(0.8, 1), sample(0.7, 1), sample(0.2, 1), sample(0.6, 0), sample(0.1, 0)]
        let members = EvaluateStage.ModelReport(name: "ppo", samples: samples, perplexity: nil, judged: true).members
        let figures = Dictionary(uniqueKeysWithValues: members)
        #expect(figures["judge_positive_rate"] == JSONText.number(4.0 / 6))
        #expect(figures["judge_positive_rate_label_1"] == JSONText.number(2.0 / 3))
        #expect(figures["judge_positive_rate_label_0"] == JSONText.number(0.5))
        let keys = members.map(\.0)
        #expect(keys.firstIndex(of: "judge_positive_rate_label_1")! < keys.firstIndex(of: "judge_positive_rate_label_0")!)

        // No labelled prompt, or no judge: no per-class figures.
        let unlabelled = EvaluateStage.ModelReport(name: "ppo", samples: [sample(0.9, nil)], perplexity: nil, judged: true).members
        #expect(!unlabelled.contains { $0.0.hasPrefix("judge_positive_rate_label") })
        let unjudged = EvaluateStage.ModelReport(name: "ppo", samples: samples, perplexity: nil, judged: false).members
        #expect(!unjudged.contains { $0.0.hasPrefix("judge_positive_rate") })
    }
}
