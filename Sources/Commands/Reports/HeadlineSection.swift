import Engine
import Foundation
import Store

/// The report's headline, at the top of a run's page: the SFT policy against the trained one on the
/// four numbers that say whether RL helped — proxy reward, gold score, KL to the SFT policy and
/// held-out perplexity — from each evaluation file that compares a baseline with a trained model, and
/// from each RL stage's gold set before the first step and after the last.
extension ReportBuilder {
    struct Headline: Equatable {
        /// Who measured it, e.g. `eval (evaluate: sft.model vs ppo.model)` or `ppo (gold set, step 0 → 60)`.
        var source: String
        var baseline: String
        var trained: String
        /// proxy, gold, KL, perplexity: (baseline, trained) values as text, "-" when not measured.
        var values: [(baseline: String, trained: String)]
        /// trained − baseline per column, with its sign ("" when either is not a number).
        var changes: [String]

        static func == (a: Headline, b: Headline) -> Bool {
            a.source == b.source && a.baseline == b.baseline && a.trained == b.trained
                && a.values.map(\.baseline) == b.values.map(\.baseline) && a.values.map(\.trained) == b.values.map(\.trained)
                && a.changes == b.changes
        }
    }

    static let headlineColumns = ["proxy reward", "gold score", FigureNames.header("kl_to_reference_nats"), FigureNames.header("heldout_perplexity")]

    /// Evaluation-file metric names of the four columns, first match wins (evaluate's metrics.json).
    static let evaluationMetrics = [["rm_reward_mean"], ["judge_score_mean", "judge_positive_rate"],
                                    ["kl_to_reference_nats"], ["heldout_perplexity"]]

    static func headlines(artifacts: ReportArtifacts, metrics: RunMetrics, stages: [String],
                          inputSources: [String: [String: String]]) -> [Headline] {
        var result: [Headline] = []
        for table in artifacts.evaluations {
            guard let paired = SideBySide.pair(table.rows) else { continue }
            let values = evaluationMetrics.map { names -> (baseline: String, trained: String) in
                guard let row = names.lazy.compactMap({ name in paired.rows.first { $0.metric == name } }).first else { return ("-", "-") }
                return (row.baseline, row.trained)
            }
            // Without a proxy or a gold number the file is not a policy evaluation.
            guard values[0].baseline != "-" || values[1].baseline != "-" else { continue }
            let sources = inputSources[table.stage] ?? [:]
            let models = [sources["baseline"], sources["policy"]].compactMap { $0 }
            result.append(Headline(source: "\(table.stage) (evaluation\(models.count == 2 ? ": " + models.joined(separator: " vs ") : ""))",
                                   baseline: paired.baseline, trained: paired.trained, values: values,
                                   changes: values.map { SideBySide.difference($0.baseline, $0.trained) }))
        }
        for stage in stages {
            guard let series = metrics.series[stage], let gold = series["gold/score"], let first = gold.first, let last = gold.last,
                  first.step == 0, last.step > 0 else { continue }
            let ends = ["gold/proxy", "gold/score", "gold/kl"].map { name -> (Double, Double)? in
                guard let points = series[name], let a = points.first, let b = points.last, a.step == 0 else { return nil }
                return (a.value, b.value)
            }
            // The change from the unrounded values, as the gold chart's sentence gives it.
            result.append(Headline(source: "\(stage) (held-out gold set during training)",
                                   baseline: "SFT (step 0)", trained: "\(stage) (step \(last.step))",
                                   values: ends.map { $0.map { (MetricFormat.value($0.0), MetricFormat.value($0.1)) } ?? ("-", "-") } + [("-", "-")],
                                   changes: ends.map { $0.map { (($0.1 - $0.0) > 0 ? "+" : "") + MetricFormat.value($0.1 - $0.0) } ?? "" } + [""]))
        }
        return result
    }

    /// The headline table: per source, the SFT row, the trained row and their difference.
    static func appendHeadline(_ page: inout HTMLReport, _ headlines: [Headline]) {
        guard !headlines.isEmpty else { return }
        page.heading("Headline: SFT vs trained policy")
        var rows: [[String]] = []
        for h in headlines {
            rows.append([h.source, h.baseline] + h.values.map(\.baseline))
            rows.append(["", h.trained] + h.values.map(\.trained))
            rows.append(["", "change"] + h.changes)
        }
        page.table(header: ["measured by", "model"] + headlineColumns, rows: rows, className: "data headline", numericFrom: 2)
        page.paragraph("proxy = the reward the policy is trained on; gold = the independent scorer (the evaluate stage's judge, "
                       + "or the RL stage's gold scorer); KL in nats per completion; \"-\" = not measured there.", className: "meta")
    }
}
