import Engine
import Foundation
import Store

/// The report's over-optimisation view: for each RL stage that measured a gold scorer during training
/// (`gold/proxy`, `gold/score`, `gold/kl` on the held-out gold set), one chart with the proxy reward and
/// the gold score on the left axis and the KL to the SFT policy on the right, and a sentence saying
/// whether the proxy rose while the gold score fell.
extension ReportBuilder {
    static let goldChartMetrics = ["gold/proxy", "gold/score", "gold/kl"]

    /// One over-optimisation reading of a stage's gold series.
    struct GoldTrend {
        var stage: String
        var firstStep: Int, lastStep: Int
        var proxyChange: Double, goldChange: Double
        /// The step where the gold score was highest, and that score.
        var bestGoldStep: Int, bestGold: Double

        /// Proxy up and gold down over the run: the policy is exploiting the proxy.
        var overOptimised: Bool { proxyChange > 0 && goldChange < 0 }

        var sentence: String {
            let change = "from step \(firstStep) to step \(lastStep) the proxy reward changed by \(signed(proxyChange)) "
                + "and the gold score by \(signed(goldChange)) on the held-out gold set"
            if overOptimised {
                return "\(stage): over-optimisation — \(change): the policy exploits the proxy. "
                    + "The gold score was highest at step \(bestGoldStep) (\(MetricFormat.value(bestGold)))."
            }
            return "\(stage): \(change)."
        }

        private func signed(_ x: Double) -> String { (x > 0 ? "+" : "") + MetricFormat.value(x) }
    }

    /// The trend of `stage`'s gold series, when it has at least two gold evaluations.
    static func goldTrend(stage: String, series: [String: [MetricPoint]]) -> GoldTrend? {
        guard let proxy = series["gold/proxy"], let gold = series["gold/score"], proxy.count >= 2, gold.count >= 2,
              let firstProxy = proxy.first, let lastProxy = proxy.last, let firstGold = gold.first, let lastGold = gold.last,
              let best = gold.filter({ $0.value.isFinite }).max(by: { $0.value < $1.value }) else { return nil }
        return GoldTrend(stage: stage, firstStep: Int(firstGold.step), lastStep: Int(lastGold.step),
                         proxyChange: lastProxy.value - firstProxy.value, goldChange: lastGold.value - firstGold.value,
                         bestGoldStep: Int(best.step), bestGold: best.value)
    }

    /// The gold-vs-proxy charts and their sentences, before the training curves.
    static func appendGoldVersusProxy(_ page: inout HTMLReport, metrics: RunMetrics, stages: [String]) {
        var charts: [String] = []
        var trends: [GoldTrend] = []
        for stage in stages {
            guard let series = metrics.series[stage], let gold = series["gold/score"], gold.count >= 2 else { continue }
            func line(_ name: String, _ label: String, colour: Int) -> [SVGChart.Series] {
                guard let points = series[name], !points.isEmpty else { return [] }
                return [SVGChart.Series(name: label, points: points.map { (Double($0.step), $0.value) }, colour: colour)]
            }
            charts.append(SVGChart.lines(title: "\(stage) · gold vs proxy on held-out prompts",
                                         series: line("gold/proxy", "proxy reward (gold/proxy)", colour: 0)
                                             + line("gold/score", "gold score (gold/score)", colour: 2),
                                         rightSeries: line("gold/kl", "KL to SFT, nats (gold/kl)", colour: 1),
                                         leftLabel: "reward (proxy, gold)", rightLabel: "KL (nats)"))
            if let trend = goldTrend(stage: stage, series: series) { trends.append(trend) }
        }
        guard !charts.isEmpty else { return }
        page.heading("Gold vs proxy during training")
        page.paragraph("The proxy is the reward the policy is trained on; the gold scorer is never in the gradient. Both score "
                       + "the same completions of a fixed held-out prompt set (sampled with a seed of their own), so a proxy "
                       + "that rises while the gold score falls is over-optimisation.", className: "meta")
        for trend in trends {
            page.raw("<p class=\"gold-verdict\" data-stage=\"\(HTML.escape(trend.stage))\" data-overoptimised=\"\(trend.overOptimised)\">"
                     + HTML.escape(trend.sentence) + "</p>\n")
        }
        page.charts(charts)
    }
}
