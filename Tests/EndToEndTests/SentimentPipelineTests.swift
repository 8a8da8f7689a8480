import Foundation
import Testing
import WorkspaceTestSupport

/// pipelines/sentiment.yaml as shipped (the flagship), through the real `pipe` binary, on a small labelled
/// corpus the test writes into data/reviews and with `--set` overrides that make every model tiny: the
/// labelled dataset, the openings generator and its `prompt` dataset, SFT, pairs, RM, PPO on the prompt
/// dataset and evaluate.
@Suite("sentiment pipeline end to end", .serialized)
struct SentimentPipelineTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// Reviews of 9 to 20 characters: an opening, then positive or negative words, numbered so none repeats.
    static func reviews(positive: Bool, count: Int) -> String {
        let openings = ["这部电影真的很", "刚收到货，感觉", "这家酒店的服务", "说实话这本书"]
        let words = positive ? ["好", "喜欢", "满意", "推荐", "不错", "值得"] : ["差", "失望", "退货", "垃圾", "后悔", "生气"]
        return (0..<count).map { i in
            openings[i % 4] + (0..<(2 + i % 3)).map { words[(i * 7 + $0 * 5) % words.count] }.joined() + "。\(i)"
        }.joined(separator: "\n") + "\n"
    }

    static let tiny = [
        "tokens.vocab_size=300", "judge.bucket_bits=12",
        "sft.n_layer=1", "sft.n_head=2", "sft.n_embd=32", "sft.block_size=32", "sft.batch_size=8", "sft.steps=30",
        "sft.lr=3e-3", "sft.warmup_steps=5", "sft.eval_interval=15", "sft.eval_batches=1",
        "pairs.pairs=16", "pairs.max_tokens=24", "rm.batch_size=8", "rm.warmup_steps=1", "rm.epochs=1",
        "ppo.steps=2", "ppo.batch_size=8", "ppo.mini_batch_size=4", "ppo.ppo_epochs=1", "ppo.response_length=4",
        "ppo.ptx_batch_size=2", "ppo.ptx_length=16",
        "eval.prompts=6", "eval.samples_per_prompt=1", "eval.response_length=4", "eval.perplexity_reviews=8",
    ].flatMap { ["--set", $0] }

    @Test(.enabled(if: RewardCommandPipelineTests.python3, "needs python3 on the PATH for the openings generator"))
    func ppoTrainsOnTheOpeningsPromptDataset() throws {
        let workspace = try TestWorkspace("pipe-sentiment")
        defer { workspace.remove() }
        let root = SmokePipelineTests.repositoryRoot
        try FileManager.default.copyItem(atPath: root + "/stages", toPath: workspace.path("stages"))
        try workspace.write("scripts/review_openings.py", try String(contentsOfFile: root + "/scripts/review_openings.py", encoding: .utf8))
        try workspace.write("pipelines/sentiment.yaml", try String(contentsOfFile: root + "/pipelines/sentiment.yaml", encoding: .utf8))
        try workspace.write("data/reviews/pos.txt", Self.reviews(positive: true, count: 200))
        try workspace.write("data/reviews/neg.txt", Self.reviews(positive: false, count: 200))

        let run = try pipe.run(["run", "pipelines/sentiment.yaml"] + Self.tiny, in: workspace.root)
        #expect(run.status == 0, "\(run)")

        // The prompt dataset: 7-character openings of the train reviews, the label kept as a column.
        #expect(try pipe.run(["export", "latest", "prompts", "--to", workspace.path("prompts")], in: workspace.root).status == 0)
        let rows = try workspace.read("prompts/train.jsonl").split(separator: "\n")
        #expect(!rows.isEmpty)
        for row in rows {
            let line = try #require(try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any])
            let record = try #require(line["fields"] as? [String: Any], "\(line)")
            let prompt = try #require(record["prompt"] as? String)
            #expect(prompt.count == 7, "\(prompt)")
            #expect(record["label"] as? Int == 0 || record["label"] as? Int == 1, "\(record)")
        }
        // PPO sampled from the classic prompts plus every row of that dataset (corpus_prompts 0).
        let log = try pipe.run(["log", "latest", "ppo"], in: workspace.root)
        #expect(log.output.contains("ppo: \(rows.count + 4) prompts (4 fixed)"), "\(log.output)")

        #expect(try pipe.run(["export", "latest", "eval", "--to", workspace.path("eval")], in: workspace.root).status == 0)
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: workspace.path("eval/metrics.json")))) as? [String: Any])
        for model in ["sft", "ppo"] {
            let figures = try #require(metrics[model] as? [String: Any], "\(metrics.keys)")
            #expect(figures["judge_positive_rate"] is Double && figures["heldout_perplexity"] is Double, "\(figures)")
            // The held-out openings come from labelled test reviews: the judge's rate per review class.
            for label in [0, 1] {
                let rate = try #require(figures["judge_positive_rate_label_\(label)"] as? Double, "\(figures)")
                #expect((0...1).contains(rate))
            }
        }
    }
}
