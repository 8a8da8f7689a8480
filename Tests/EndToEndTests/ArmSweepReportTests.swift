import Foundation
import Testing
import WorkspaceTestSupport

/// `pipe report --sweep` on a sweep that compares training arms over seeds, through the real `pipe`
/// binary: the gold pipeline's tiny PPO and a tiny GRPO from one SFT model, each scored by its own
/// evaluate stage, swept over two seeds. The page shows a row per arm with figures over the seeds,
/// the reward–KL frontier, gold vs proxy per arm and the samples side by side; `--text` prints the
/// same table as Markdown.
@Suite("pipe report: arms of a sweep over seeds", .serialized)
struct ArmSweepReportTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    static let grpoStage = """
      grpo:
        uses: grpo
        inputs: { policy: sft.model, scorer: proxy.dir, tokens: tokens.tokens }
        with: { steps: 10, prompts_per_step: 4, num_generations: 4, response_length: 8, lr: 3e-3, beta: 0.04, corpus_prompts: 16,
                reward_sources: [command], reward_command: "python3 ${inputs.scorer}/praise_count.py",
                gold_sources: [repetition_penalty], gold_repetition_ngram: 1, gold_every: 5, gold_prompts: 32 }

    """

    static let grpoEvaluation = """
      eval-grpo:
        uses: evaluate
        inputs: { policy: grpo.model, baseline: sft.model, judge: judge.model, tokens: tokens.tokens, scorer: proxy.dir }
        with: { prompts: 8, samples_per_prompt: 1, response_length: 8, perplexity_reviews: 8,
                reward_sources: [command], reward_command: "python3 ${inputs.scorer}/praise_count.py" }

    """

    /// The gold pipeline with a GRPO arm beside PPO, its `eval` renamed `eval-ppo`, over seeds 1 and 2.
    static var pipeline: String {
        GoldPipelineTests.pipeline.replacingOccurrences(of: "name: gold\n", with: "name: arms\n")
            .replacingOccurrences(of: "  eval:\n", with: grpoStage + "  eval-ppo:\n") + grpoEvaluation + "sweep:\n  seed: [1, 2]\n"
    }

    /// Attribute `name` of every element that starts with `element`.
    static func values(_ name: String, in html: String, element: String) -> [String] {
        html.components(separatedBy: element).dropFirst().compactMap { chunk in
            guard let range = chunk.range(of: "\(name)=\"") else { return nil }
            return String(chunk[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    @Test(.enabled(if: RewardCommandPipelineTests.python3, "needs python3 on the PATH for the proxy scorer"))
    func sweepReportShowsEachArmOverSeeds() throws {
        let workspace = try GoldPipelineTests.workspace()
        defer { workspace.remove() }
        try workspace.write("pipelines/arms.yaml", Self.pipeline)
        let run = try pipe.run(["run", "pipelines/arms.yaml", "-j", "2"], in: workspace.root)
        #expect(run.status == 0, "\(run)")

        let report = try pipe.run(["report", "--sweep", "latest", "-o", "arms.html"], in: workspace.root)
        #expect(report.status == 0, "\(report)")
        let html = try workspace.read("arms.html")
        #expect(html.contains("<h2 id=\"arms\">Arms: grpo, ppo</h2>"), "no arms section")
        // One row per arm (and the baseline) with the seed count; the figures as mean ± sd (min–max).
        for label in ["SFT baseline (sft.model)", "ppo", "grpo"] {
            #expect(html.contains("<tr><td>\(label)</td><td class=\"num\">2</td>"), "no row for \(label) over 2 seeds")
        }
        #expect(html.contains("<th>judge positive rate</th>") && html.contains("<th>KL to SFT (nats)</th>") && html.contains("<th>RM win rate vs SFT</th>"))
        #expect(html.components(separatedBy: " ± ").count > 6, "figures not shown as mean ± spread")

        // The frontier: a point per arm and seed (and the baseline's), a mean per group.
        let groups = Self.values("data-group", in: html, element: "<circle class=\"pt scatter\"")
        #expect(groups == ["SFT baseline (sft.model)", "SFT baseline (sft.model)", "grpo", "grpo", "ppo", "ppo"], "\(groups)")
        #expect(html.components(separatedBy: "<path class=\"mean\"").count - 1 == 3)
        let ys = Self.values("data-y", in: html, element: "<circle class=\"pt scatter\"").compactMap(Double.init)
        let xs = Self.values("data-x", in: html, element: "<circle class=\"pt scatter\"").compactMap(Double.init)
        #expect(ys.count == 6 && ys.allSatisfy { (0...1).contains($0) } && xs.count == 6 && xs[0] == 0 && xs[1] == 0, "\(xs) \(ys)")
        let meanY = Self.values("data-y", in: html, element: "<path class=\"mean\"").compactMap(Double.init)
        #expect(meanY.count == 3 && abs(meanY[2] - (ys[4] + ys[5]) / 2) < 1e-12, "ppo's mean mark")
        // A point is what the evaluation file says (the latest run's PPO evaluation, as exported).
        #expect(try pipe.run(["export", "latest", "eval-ppo", "--output", "report", "--to", workspace.path("eval-ppo")], in: workspace.root).status == 0)
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(workspace.read("eval-ppo/metrics.json").utf8)) as? [String: Any])
        let ppo = try #require(metrics["ppo"] as? [String: Any])
        let kl = try #require((ppo["kl_to_reference_nats"] as? NSNumber)?.doubleValue), judge = try #require((ppo["judge_positive_rate"] as? NSNumber)?.doubleValue)
        #expect(zip(xs, ys).dropFirst(4).prefix(2).contains { abs($0.0 - kl) < 1e-9 && abs($0.1 - judge) < 1e-9 }, "(\(kl), \(judge)) not among ppo's points \(xs) \(ys)")

        // Gold vs proxy per arm, the mean of both seeds at each gold step (0, 5, 10 and 15 for PPO; 0, 5, 10 for GRPO).
        #expect(html.contains("ppo · gold vs proxy, mean of 2 seeds") && html.contains("grpo · gold vs proxy, mean of 2 seeds"))
        #expect(html.contains("data-series=\"gold score (gold/score)\" data-points=\"4\"") && html.contains("data-series=\"gold score (gold/score)\" data-points=\"3\""))
        #expect(html.contains("class=\"gold-verdict\" data-arm=\"ppo\""))
        // The same prompts side by side, and the per-variant page below.
        #expect(html.contains("<th>prompt</th><th>SFT</th><th>grpo</th><th>ppo</th>"))
        #expect(!html.contains("(not among its prompts)"))
        #expect(html.contains(">Variants</h2>"))

        // The terminal form: the same cells, as Markdown.
        let text = try pipe.run(["report", "--sweep", "latest", "--text"], in: workspace.root)
        #expect(text.status == 0, "\(text)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("| arm ") == true && lines.count >= 5, "\(text.stdout)")
        for label in ["SFT baseline (sft.model)", "ppo", "grpo"] {
            let row = try #require(lines.first { $0.hasPrefix("| \(label) ") }, "no \(label) row in \(text.stdout)")
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(cells[1] == "2")
            // Every figure cell of the text table is a cell of the HTML table.
            for cell in cells.dropFirst(2) where cell.contains(" ± ") { #expect(html.contains("<td>\(cell)</td>"), "\(cell) not in the HTML table") }
            if label != "SFT baseline (sft.model)" { #expect(cells[cells.count - 2] != "-", "no wall time for \(label)") }
        }
        #expect(text.stdout.contains("over 2 seeds"))
    }
}
