import Foundation
import Testing
import WorkspaceTestSupport

/// pipelines/headline.yaml as shipped, through the real `pipe` binary, on a small People's Daily-shaped
/// file the test writes: the generator's article and title recovery (titles, subtitles, kickers, photo
/// captions, untitled briefs), then the whole chain with `--set` overrides that make every model tiny:
/// datasets, SFT, the SFT's ranked answers, the mixed RM rows, RM, PPO with its ROUGE-L gold score, and
/// evaluate's ROUGE-L; then `pipe reproduce`.
@Suite("headline pipeline end to end", .serialized)
struct HeadlinePipelineTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// Text as the corpus tags it: two-character `word/n` tokens and `x/w` punctuation, two spaces apart.
    static func tagged(_ text: String) -> String {
        var tokens: [String] = [], word = ""
        for character in text {
            if "，。：（）、“”".contains(character) {
                if !word.isEmpty { tokens.append(word + "/n"); word = "" }
                tokens.append("\(character)/w")
            } else {
                word.append(character)
                if word.count == 2 { tokens.append(word + "/n"); word = "" }
            }
        }
        if !word.isEmpty { tokens.append(word + "/n") }
        return tokens.joined(separator: "  ")
    }

    static let people = ["江泽民", "李鹏", "朱镕基", "乔石", "李瑞环", "胡锦涛"]
    static let acts = ["会见", "考察", "视察", "慰问", "接见"]
    static let objects = ["美国客人", "日本代表团", "北京企业", "西藏灾区", "农业部门", "上海港口", "科技人员"]

    /// The articles (title, whether it should be recovered) and the tagged file. Every third article has a
    /// subtitle (unless it has a kicker: three title lines are skipped), every fifth a kicker (ends in 指出, so the next line is the title), every fourth a photo
    /// caption between its title and dateline, and every seventh is a brief with no title (skipped).
    static func news(articles count: Int = 40) -> (titles: [String], text: String) {
        var lines: [String] = [], titles: [String] = []
        for i in 0..<count {
            let title = people[i % 6] + acts[i % 5] + objects[i % 7] + "第\(i)次"
            let brief = i % 7 == 6
            if !brief {
                if i % 5 == 1 { lines.append(people[(i + 1) % 6] + "在会上指出") }
                lines.append(title)
                if i % 3 == 2 && i % 5 != 1 { lines.append("各方认为合作前景广阔（附图片１张）") }
                if i % 4 == 0 { lines.append("图为会见现场。（新华社记者王五摄）") }
                titles.append(title)
            }
            let day = i % 28 + 1
            let dateline = i % 2 == 0 ? "本报北京１月\(day)日讯记者李四报道：" : "新华社北京１月\(day)日电（记者王五）"
            lines.append(dateline + people[i % 6] + "今天" + acts[i % 5] + "了" + objects[i % 7] + "，双方就共同关心的问题交换了意见。")
            lines.append("他说，" + objects[(i + 3) % 7] + "的工作很重要，要继续努力，第\(i)次取得新的成绩。")
        }
        return (titles, lines.map(tagged).joined(separator: "\n") + "\n")
    }

    static func rows(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    static let tiny = [
        "tokens.vocab_size=400",
        "sft.n_layer=1", "sft.n_head=2", "sft.n_embd=32", "sft.steps=60", "sft.lr=3e-3", "sft.warmup_steps=5", "sft.eval_interval=30",
        "sft.eval_batches=1", "sft.batch_size=8", "sft.block_size=160",
        "samples.pairs=8", "samples.k=8", "samples.max_tokens=160", "pairs.max_tokens=160", "rm.batch_size=8", "rm.warmup_steps=1",
        "ppo.steps=2", "ppo.batch_size=8", "ppo.mini_batch_size=4", "ppo.ppo_epochs=1", "ppo.gold_every=1", "ppo.gold_prompts=4",
        "eval.prompts=6", "eval.samples_per_prompt=1",
    ].flatMap { ["--set", $0] }

    static func workspace() throws -> TestWorkspace {
        let workspace = try TestWorkspace("pipe-headline")
        let root = SmokePipelineTests.repositoryRoot
        try FileManager.default.copyItem(atPath: root + "/stages", toPath: workspace.path("stages"))
        for script in ["headline_data.py", "headline_pairs.py"] {
            try workspace.write("scripts/" + script, try String(contentsOfFile: root + "/scripts/" + script, encoding: .utf8))
        }
        // Shorter articles and fewer held out than shipped: the generator's optional arguments.
        let pipeline = try String(contentsOfFile: root + "/pipelines/headline.yaml", encoding: .utf8)
        let shipped = "${outs.sft} ${outs.preference} ${outs.prompts}"
        #expect(pipeline.contains(shipped))
        try workspace.write("pipelines/headline.yaml", pipeline.replacingOccurrences(of: shipped, with: shipped + " 40 12"))
        try workspace.write("data/news/199801.txt", news().text)
        return workspace
    }

    @Test(.enabled(if: RewardCommandPipelineTests.python3, "needs python3 on the PATH for the generator"))
    func theGeneratorRecoversTitlesAndArticles() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        script.arguments = ["python3", workspace.path("scripts/headline_data.py"), workspace.path("data/news/199801.txt"),
                            workspace.path("out/sft"), workspace.path("out/preference"), workspace.path("out/prompts"), "60", "12"]
        try script.run()
        script.waitUntilExit()
        #expect(script.terminationStatus == 0)

        let sft = try Self.rows(workspace.path("out/sft/sft.jsonl"))
        let prompts = try Self.rows(workspace.path("out/prompts/prompts.jsonl"))
        let preference = try Self.rows(workspace.path("out/preference/preference.jsonl"))
        #expect(prompts.count == 12)
        // Every titled article once (subtitles, kickers and captions are not titles), briefs skipped.
        let titles = (sft.map { $0["completion"] as? String ?? "" } + prompts.map { $0["headline"] as? String ?? "" }).sorted()
        #expect(titles == Self.news().titles.sorted())
        for row in sft + prompts {
            let text = try #require(row["prompt"] as? String)
            #expect(text.count <= 60)
            #expect(!text.hasPrefix("本报") && !text.hasPrefix("新华社") && !text.hasPrefix("记者") && !text.hasPrefix("（"), "\(text)")
            #expect(!text.contains("摄）"), "captions stay out of the article: \(text)")
        }
        #expect(preference.count == sft.count)
        for row in preference {
            #expect(row["chosen"] as? String == row["headline"] as? String)
            #expect(row["rejected"] as? String != row["chosen"] as? String)
        }
        // Same input, same bytes.
        let first = try workspace.read("out/sft/sft.jsonl")
        let again = Process()
        again.executableURL = script.executableURL
        again.arguments = script.arguments
        try again.run()
        again.waitUntilExit()
        #expect(try workspace.read("out/sft/sft.jsonl") == first)
    }

    @Test(.enabled(if: RewardCommandPipelineTests.python3, "needs python3 on the PATH for the generator"))
    func theChainTrainsAndEvaluatesRougeL() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        let run = try pipe.run(["run", "pipelines/headline.yaml"] + Self.tiny, in: workspace.root)
        #expect(run.status == 0, "\(run)")

        // Evaluate reports held-out ROUGE-L (in [0, 1]) for both models and the RM's pair accuracy.
        #expect(try pipe.run(["export", "latest", "eval", "--to", workspace.path("eval")], in: workspace.root).status == 0)
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: workspace.path("eval/metrics.json")))) as? [String: Any])
        for model in ["sft", "ppo"] {
            let sources = try #require((metrics[model] as? [String: Any])?["reward_sources"] as? [String: Double], "\(metrics)")
            let rouge = try #require(sources["rouge_l"])
            #expect((0...1).contains(rouge), "\(rouge)")
        }
        #expect(metrics["rm"] != nil, "the RM's held-out pair accuracy is reported: \(metrics.keys)")

        // The RM rows hold both negatives: another article's title and the SFT model's worst answer.
        #expect(try pipe.run(["export", "latest", "mixed", "--to", workspace.path("mixed")], in: workspace.root).status == 0)
        let mixed = try Self.rows(workspace.path("mixed/preference.jsonl"))
        #expect(mixed.contains { $0["negative"] as? String == "other_title" })
        #expect(mixed.contains { $0["negative"] as? String == "worst_sample" }, "\(mixed.suffix(2))")
        #expect(mixed.allSatisfy { $0["chosen"] as? String == $0["headline"] as? String })

        // PPO measured ROUGE-L on held-out prompts as its gold score.
        let log = try pipe.run(["log", "latest", "ppo"], in: workspace.root)
        #expect(log.status == 0, "\(log)")
        #expect(log.output.contains("gold/score"), "\(log)")

        // Every stage again without the cache: the same bytes.
        let reproduce = try pipe.run(["reproduce", "latest"], in: workspace.root)
        #expect(reproduce.status == 0, "\(reproduce)")
        #expect(reproduce.stdout.contains("reproduced bit for bit"), "\(reproduce)")
    }
}
