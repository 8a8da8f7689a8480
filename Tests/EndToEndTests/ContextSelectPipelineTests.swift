import Foundation
import Testing
import WorkspaceTestSupport

/// pipelines/context-select.yaml as shipped, through the real `pipe` binary, on a tiny tagged corpus the
/// test writes and with `--set` overrides that make every model tiny: the generator, the datasets, SFT,
/// both pairs variants of the sweep (random negatives, ranked SFT samples), RM, PPO against each RM and
/// against the rule, and evaluate's held-out accuracy; then `pipe reproduce` on a variant.
@Suite("context-select pipeline end to end", .serialized)
struct ContextSelectPipelineTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// A People's Daily-shaped file: `word/tag` tokens, names tagged nr (surname and given name apart),
    /// ns and nt, twelve of each (the generator needs two prompts' worth of each category).
    static func news() -> String {
        let people = ["江/nr 泽民/nr", "李/nr 鹏/nr", "朱/nr 镕基/nr", "乔/nr 石/nr", "钱/nr 其琛/nr", "李/nr 岚清/nr", "吴/nr 仪/nr",
                      "罗/nr 干/nr", "邓/nr 小平/nr", "周/nr 恩来/nr", "毛/nr 泽东/nr", "刘/nr 华清/nr"]
        let places = ["北京/ns", "上海/ns", "香港/ns", "天津/ns", "广州/ns", "日本/ns", "美国/ns", "英国/ns", "法国/ns", "德国/ns",
                      "澳门/ns", "台湾/ns"]
        let bodies = ["新华社/nt", "国务院/nt", "联合国/nt", "外交部/nt", "农业部/nt", "公安部/nt", "铁道部/nt", "统战部/nt", "美联社/nt",
                      "地质部/nt", "中央军委/nt", "党中央/nt"]
        return (0..<48).map { i in
            "\(people[i % 12])  在/p  \(places[(i * 5) % 12])  会见/v  \(bodies[(i * 7) % 12])  代表/n  。/w"
        }.joined(separator: "\n") + "\n"
    }

    static let tiny = [
        "tokens.vocab_size=400",
        "sft.n_layer=1", "sft.n_head=2", "sft.n_embd=32", "sft.steps=120", "sft.lr=3e-3", "sft.warmup_steps=5", "sft.eval_interval=30",
        "sft.eval_batches=1", "sft.batch_size=8",
        "pairs.pairs=8", "pairs.k=8", "rm.batch_size=8", "rm.warmup_steps=1",
        "ppo.steps=2", "ppo.batch_size=8", "ppo.mini_batch_size=4", "ppo.ppo_epochs=1",
        "ppo-rule.steps=2", "ppo-rule.batch_size=8", "ppo-rule.mini_batch_size=4", "ppo-rule.ppo_epochs=1",
        "eval.prompts=6", "eval.samples_per_prompt=1", "eval-rule.prompts=6", "eval-rule.samples_per_prompt=1",
    ].flatMap { ["--set", $0] }

    static func workspace() throws -> TestWorkspace {
        let workspace = try TestWorkspace("pipe-context-select")
        let root = SmokePipelineTests.repositoryRoot
        try FileManager.default.copyItem(atPath: root + "/stages", toPath: workspace.path("stages"))
        try workspace.write("scripts/context_select_data.py", try String(contentsOfFile: root + "/scripts/context_select_data.py", encoding: .utf8))
        // Fewer rows than the shipped counts: the generator's optional count arguments.
        let pipeline = try String(contentsOfFile: root + "/pipelines/context-select.yaml", encoding: .utf8)
        let shipped = "${outs.sft} ${outs.preference} ${outs.prompts}"
        #expect(pipeline.contains(shipped))
        try workspace.write("pipelines/context-select.yaml", pipeline.replacingOccurrences(of: shipped, with: shipped + " 240 60 120"))
        try workspace.write("data/news/199801.txt", news())
        return workspace
    }

    @Test(.enabled(if: RewardCommandPipelineTests.python3, "needs python3 on the PATH for the generator"))
    func theSweepRunsBothPairStrategiesAndEvaluatesAccuracy() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        let run = try pipe.run(["run", "pipelines/context-select.yaml"] + Self.tiny, in: workspace.root)
        #expect(run.status == 0, "\(run)")

        // Each variant's evaluate reports the rule's mean score (accuracy = (r + 1) / 2) for both models.
        let runs = try pipe.run(["runs"], in: workspace.root)
        #expect(runs.status == 0, "\(runs)")
        #expect(try pipe.run(["export", "latest", "eval", "--to", workspace.path("eval")], in: workspace.root).status == 0)
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: workspace.path("eval/metrics.json")))) as? [String: Any])
        for model in ["sft", "ppo"] {
            let sources = try #require((metrics[model] as? [String: Any])?["reward_sources"] as? [String: Double], "\(metrics)")
            let rule = try #require(sources["set_membership"])
            #expect((-1...1).contains(rule), "\(rule)")
        }
        #expect(metrics["rm"] != nil, "the RM's held-out pair accuracy is reported: \(metrics.keys)")

        // The ranked-samples pairs: every pair's chosen answer scored by the rule above its rejected one.
        #expect(try pipe.run(["export", "latest", "pairs", "--to", workspace.path("pairs")], in: workspace.root).status == 0)
        let pairs = try workspace.read("pairs/pairs.jsonl").split(separator: "\n")
        #expect(!pairs.isEmpty)
        let strategyLog = try pipe.run(["log", "latest", "pairs"], in: workspace.root)
        if strategyLog.output.contains("ranked_samples") {
            #expect(pairs.allSatisfy { $0.contains("\"chosen_score\":1") && $0.contains("\"rejected_score\":-1") }, "\(pairs.prefix(2))")
        }

        // Every stage of the latest variant again without the cache: the same bytes.
        let reproduce = try pipe.run(["reproduce", "latest"], in: workspace.root)
        #expect(reproduce.status == 0, "\(reproduce)")
        #expect(reproduce.stdout.contains("reproduced bit for bit"), "\(reproduce)")
    }
}
