import Foundation
import Testing
import WorkspaceTestSupport

/// Over-optimisation made visible, through the real `pipe` binary: PPO trains on a deliberately
/// exploitable proxy (a scorer paying for one token, 好, however often it is repeated) while an honest
/// gold scorer (a rule penalising repeated characters) is measured on held-out prompts. The proxy must
/// rise and the gold score fall, in metrics.jsonl and in `pipe report`'s gold-vs-proxy chart.
@Suite("gold vs proxy end to end", .serialized)
struct GoldPipelineTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// The exploitable proxy: the share of a completion's characters that are 好.
    static let proxyScorer = """
    import json, sys
    for line in sys.stdin:
        request = json.loads(line)
        rewards = [c.count("好") / max(len(c), 1) for c in request["completions"]]
        print(json.dumps({"rewards": rewards}), flush=True)

    """

    static let pipeline = """
    name: gold
    seed: 3
    stages:
    \(ToyReviewCorpus.stage(reviewsPerLabel: 160))
      proxy:
        run: "mkdir -p ${outs.dir} && cp scorers/praise_count.py ${outs.dir}/"
        deps: [scorers/praise_count.py]
        outs: [dir]
      data:   { uses: dataset, inputs: { source: corpus.dir }, with: { kind: labelled, extra_splits: ["judge:0.45"], min_chars: 4 } }
      tokens: { uses: tokenise, inputs: { data: data.data }, with: { vocab_size: 300 } }
      judge:  { uses: judge, inputs: { data: data.data }, with: { bucket_bits: 10, models: 3, epochs: 2, knn_k: 0 } }
      sft:
        uses: sft
        inputs: { tokens: tokens.tokens, tokenizer: tokens.tokenizer }
        with: { n_layer: 1, n_head: 2, n_embd: 32, block_size: 48, batch_size: 8, steps: 30, lr: 3e-3, warmup_steps: 5,
                eval_interval: 20, eval_batches: 1 }
      ppo:
        uses: ppo
        inputs: { policy: sft.model, scorer: proxy.dir, tokens: tokens.tokens }
        with: { steps: 15, batch_size: 16, mini_batch_size: 8, ppo_epochs: 2, response_length: 8, lr: 3e-3, corpus_prompts: 16,
                init_kl_coef: 0.01, adaptive_kl: false,
                reward_sources: [command], reward_command: "python3 ${inputs.scorer}/praise_count.py",
                gold_sources: [repetition_penalty], gold_repetition_ngram: 1, gold_every: 5, gold_prompts: 32 }
      eval:
        uses: evaluate
        inputs: { policy: ppo.model, baseline: sft.model, judge: judge.model, tokens: tokens.tokens, scorer: proxy.dir }
        with: { prompts: 8, samples_per_prompt: 1, response_length: 8, perplexity_reviews: 8,
                reward_sources: [command], reward_command: "python3 ${inputs.scorer}/praise_count.py" }

    """

    static func workspace() throws -> TestWorkspace {
        let workspace = try TestWorkspace("pipe-gold")
        try FileManager.default.copyItem(atPath: SmokePipelineTests.repositoryRoot + "/stages", toPath: workspace.path("stages"))
        try workspace.write("pipelines/gold.yaml", pipeline)
        try workspace.write("scorers/praise_count.py", proxyScorer)
        return workspace
    }

    @Test(.enabled(if: RewardCommandPipelineTests.python3, "needs python3 on the PATH for the proxy scorer"))
    func anExploitableProxyRisesWhileTheGoldScoreFalls() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        let run = try pipe.run(["run", "pipelines/gold.yaml"], in: workspace.root)
        #expect(run.status == 0, "\(run)")

        // metrics.jsonl: gold at step 0, every 5 steps and after the last.
        #expect(try pipe.run(["export", "latest", "ppo", "--output", "metrics", "--to", workspace.path("ppo-metrics")], in: workspace.root).status == 0)
        let lines = try workspace.read("ppo-metrics/metrics.jsonl").split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let gold = lines.filter { $0["gold/score"] != nil }
        #expect(gold.compactMap { $0["step"] as? Int } == [0, 5, 10, 15], "\(gold)")
        func values(_ key: String) -> [Double] { gold.compactMap { $0[key] as? Double } }
        let proxy = values("gold/proxy"), score = values("gold/score"), kl = values("gold/kl")
        #expect(proxy.count == 4 && score.count == 4 && kl.count == 4)
        // Proxy up, gold down, the policy moved away from SFT: the over-optimisation the gold scorer is for.
        #expect(proxy.last! - proxy.first! > 0.2, "proxy \(proxy)")
        #expect(score.last! - score.first! < -0.2, "gold \(score)")
        #expect(kl.first! == 0 && kl.last! > 1, "kl \(kl)")

        // The report: headline first, then the gold-vs-proxy chart, then the training curves.
        let report = try pipe.run(["report", "latest", "--output", workspace.path("report.html")], in: workspace.root)
        #expect(report.status == 0, "\(report)")
        let html = try workspace.read("report.html")
        let headline = try #require(html.range(of: "Headline: SFT vs trained policy"), "no headline")
        let goldChart = try #require(html.range(of: "Gold vs proxy during training"), "no gold chart")
        let curves = try #require(html.range(of: ">Training curves<"), "no curves")
        #expect(headline.lowerBound < goldChart.lowerBound && goldChart.lowerBound < curves.lowerBound)
        #expect(html.contains("class=\"gold-verdict\" data-stage=\"ppo\" data-overoptimised=\"true\""), "no over-optimisation verdict")
        for series in ["proxy reward (gold/proxy)", "gold score (gold/score)", "KL to SFT, nats (gold/kl)"] {
            #expect(html.contains("data-series=\"\(series)\" data-points=\"4\""), "\(series) not plotted with 4 points")
        }
        #expect(html.contains("data-series=\"KL to SFT, nats (gold/kl)\" data-points=\"4\" data-axis=\"right\""))
        // Headline rows: the evaluation's SFT vs PPO, and the gold set's step 0 vs step 15.
        #expect(html.contains("ppo (held-out gold set during training)") && html.contains("ppo (step 15)"))
        #expect(html.contains("eval (evaluation: sft.model vs ppo.model)"))
        // The judge's ensemble models are separate lines, not one saw-tooth.
        #expect(html.contains("judge · judge/train_loss, one line per model"))
        for model in 1...3 { #expect(html.contains("data-series=\"model \(model)\" data-points=\"2\"")) }
        // Tick labels are short (no 5.000e-04 style); every label fits its chart.
        let ticks = try Self.tickLabels(html)
        #expect(!ticks.isEmpty)
        #expect(ticks.allSatisfy { $0.range(of: #"^-?\d+\.\d{3}e[-+]\d\d$"#, options: .regularExpression) == nil }, "\(ticks)")

        // A sweep over the learning rate: its report says which variant over-optimised (the cached
        // variant is the run above; only lr 3e-4 trains).
        try workspace.write("pipelines/gold-sweep.yaml", Self.pipeline.replacingOccurrences(of: "name: gold\n", with: "name: gold-sweep\n")
                            + "sweep:\n  ppo.lr: [3e-3, 3e-4]\n")
        let sweep = try pipe.run(["run", "pipelines/gold-sweep.yaml"], in: workspace.root)
        #expect(sweep.status == 0, "\(sweep)")
        let sweepReport = try pipe.run(["report", "--sweep", "latest", "--output", workspace.path("sweep.html")], in: workspace.root)
        #expect(sweepReport.status == 0, "\(sweepReport)")
        let sweepHTML = try workspace.read("sweep.html")
        #expect(sweepHTML.contains("data-variant=\"ppo.lr=0.003\" data-stage=\"ppo\" data-overoptimised=\"true\""), "\(sweepHTML.count)")
        #expect(sweepHTML.contains("data-variant=\"ppo.lr=0.0003\" data-stage=\"ppo\" data-overoptimised=\"false\""))

        // Bad gold params: caught before anything runs (declared types and bounds), or when ppo starts.
        for (override, message) in [
            ("ppo.gold_every=0", "error: --set ppo.gold_every=0: stage 'ppo': param 'gold_every': 0 is below the minimum 1"),
            ("ppo.gold_sourcs=[f1]", "error: --set ppo.gold_sourcs=[f1]: stage 'ppo': unknown param 'gold_sourcs' (did you mean 'gold_sources'?)"),
            ("ppo.gold_sources=[command]", "error: stage 'ppo' (ppo) failed: param 'gold_command': gold_sources lists 'command' but gold_command is empty: give the scorer's command line, e.g. \"python3 ${inputs.gold_scorer}/score.py\""),
        ] {
            let bad = try pipe.run(["run", "pipelines/gold.yaml", "--set", override], in: workspace.root)
            #expect(bad.status != 0 && bad.output.contains(message), "\(override): \(bad)")
        }
    }

    /// The text of every `class="tick"` label.
    static func tickLabels(_ html: String) throws -> [String] {
        let pattern = try NSRegularExpression(pattern: #"class="tick[^"]*">([^<]*)<"#)
        return pattern.matches(in: html, range: NSRange(html.startIndex..., in: html)).compactMap {
            Range($0.range(at: 1), in: html).map { String(html[$0]) }
        }
    }
}
