@testable import Commands
import Foundation
import Store
import Testing

@Suite("Report: arms of a sweep over seeds (aggregation, table, frontier)")
struct ArmComparisonTests {
    static func observation(_ arm: String, seed: String, configuration: String = "", judge: Double, kl: Double,
                            wall: Double? = nil, cpu: Double? = nil, baselineJudge: Double = 0.5) -> ArmComparison.Observation {
        ArmComparison.Observation(arm: arm, evaluation: "eval-\(arm)", configuration: configuration, seed: seed,
                                  trained: ["judge_positive_rate": judge, "kl_to_reference_nats": kl, "rm_win_rate": 0.5],
                                  baseline: ["judge_positive_rate": baselineJudge, "kl_to_reference_nats": 0],
                                  baselineSource: "sft.model", wallSeconds: wall, cpuSeconds: cpu, costStages: [arm])
    }

    /// Hand-computed: [0.8, 0.9, 0.7] has mean 0.8, squared deviations 0 + 0.01 + 0.01 = 0.02, over
    /// n − 1 = 2 → variance 0.01, standard deviation 0.1; [2, 4, 9]: mean 5, (9 + 1 + 16) / 2 = 13.
    @Test func spreadIsMeanSampleStandardDeviationAndRange() throws {
        let judge = try #require(SeedSpread([0.8, 0.9, 0.7]))
        #expect(judge.count == 3 && abs(judge.mean - 0.8) < 1e-12 && judge.minimum == 0.7 && judge.maximum == 0.9)
        #expect(abs(try #require(judge.standardDeviation) - 0.1) < 1e-12)
        #expect(judge.text == "0.8 ± 0.1 (0.7–0.9)")
        let kl = try #require(SeedSpread([2, 4, 9]))
        #expect(kl.mean == 5 && kl.standardDeviation == 13.0.squareRoot())
        #expect(kl.text == "5 ± 3.6056 (2–9)")
        // One seed: no standard deviation (undefined, not 0); NaN seeds are left out; nothing finite → nil.
        let single = try #require(SeedSpread([0.25, .nan]))
        #expect(single.count == 1 && single.standardDeviation == nil && single.text == "0.25")
        #expect(SeedSpread([.nan]) == nil && SeedSpread([]) == nil)
        #expect(try #require(SeedSpread([60, 90, 120])).secondsText == "1m30s ± 30.0s")
    }

    @Test func rowsAreBaselineThenEachArmPerConfiguration() throws {
        let observations = [
            // Variant order (seed 1, 2, 3), stage order within each; grpo's seed-3 evaluation is missing.
            // ppo's CPU time is known for every seed; grpo's only for one (an older record) → "-".
            Self.observation("ppo", seed: "1", judge: 0.8, kl: 2, wall: 60, cpu: 110, baselineJudge: 0.4),
            Self.observation("grpo", seed: "1", judge: 0.6, kl: 1, wall: 30, cpu: 29),
            Self.observation("ppo", seed: "2", judge: 0.9, kl: 4, wall: 90, cpu: 170, baselineJudge: 0.6),
            Self.observation("grpo", seed: "2", judge: 0.75, kl: 3, wall: 40),
            Self.observation("ppo", seed: "3", judge: 0.7, kl: 9, wall: 120, cpu: 230, baselineJudge: 0.5),
        ]
        let comparison = ArmComparison.aggregate(observations)
        #expect(comparison.rows.map(\.label) == ["SFT baseline (sft.model)", "ppo", "grpo"])
        #expect(comparison.rows.map(\.seeds) == [["1", "2", "3"], ["1", "2", "3"], ["1", "2"]])
        // The baseline as each seed's first evaluation measured it: [0.4, 0.6, 0.5].
        let baseline = try #require(comparison.rows[0].figures["judge_positive_rate"])
        let baselineDeviation = try #require(baseline.standardDeviation)
        #expect(abs(baseline.mean - 0.5) < 1e-12 && abs(baselineDeviation - 0.1) < 1e-12)
        // grpo: [0.6, 0.75] → mean 0.675, deviations ±0.075, 2 × 0.005625 / 1 → sd 0.10607.
        let grpo = try #require(comparison.rows[2].figures["judge_positive_rate"])
        #expect(abs(grpo.mean - 0.675) < 1e-12)
        #expect(abs(try #require(grpo.standardDeviation) - 0.011250.squareRoot()) < 1e-12)
        #expect(comparison.rows[1].wall?.mean == 90 && comparison.rows[2].wall?.mean == 35)

        let (header, rows) = comparison.table
        #expect(header == ["arm", "seeds", "judge positive rate", "KL to SFT (nats)", "RM win rate vs SFT", "wall time (training)", "CPU time (training)", "training stages"])
        #expect(rows[0] == ["SFT baseline (sft.model)", "3", "0.5 ± 0.1 (0.4–0.6)", "0 ± 0 (0–0)", "-", "-", "-", "-"])
        #expect(rows[1] == ["ppo", "3", "0.8 ± 0.1 (0.7–0.9)", "5 ± 3.6056 (2–9)", "0.5 ± 0 (0.5–0.5)", "1m30s ± 30.0s", "2m50s ± 1m00s", "ppo"])
        #expect(rows[2] == ["grpo", "2", "0.675 ± 0.1061 (0.6–0.75)", "2 ± 1.4142 (1–3)", "0.5 ± 0 (0.5–0.5)", "35.0s ± 7.1s", "-", "grpo"])

        // The Markdown rendering has the same cells, columns padded and numbers right-aligned.
        let markdown = comparison.markdown
        let lines = markdown.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("| arm                      | seeds |       judge positive rate |"), "\(lines[0])")
        #expect(lines[1].hasPrefix("| ------------------------ | ----: | ------------------------: |"), "\(lines[1])")
        #expect(lines[3].hasPrefix("| ppo                      |     3 |       0.8 ± 0.1 (0.7–0.9) |"), "\(lines[3])")
        #expect(Set(lines.prefix(5).map(\.count)).count == 1, "columns line up")
        #expect(markdown.contains("sample standard deviation (n − 1) and (min–max) over 2/3 seeds"))
    }

    @Test func otherParamsMakeSeparateConfigurations() {
        let observations = [
            Self.observation("ppo", seed: "1", configuration: "ppo.init_kl_coef=0.1", judge: 0.8, kl: 2),
            Self.observation("ppo", seed: "1", configuration: "ppo.init_kl_coef=0.2", judge: 0.7, kl: 1),
            Self.observation("ppo", seed: "2", configuration: "ppo.init_kl_coef=0.1", judge: 0.9, kl: 4),
            Self.observation("ppo", seed: "2", configuration: "ppo.init_kl_coef=0.2", judge: 0.6, kl: 2),
        ]
        let comparison = ArmComparison.aggregate(observations)
        #expect(comparison.configurations == ["ppo.init_kl_coef=0.1", "ppo.init_kl_coef=0.2"])
        #expect(comparison.arms.map(\.configuration) == comparison.configurations)
        let means = comparison.arms.compactMap { $0.figures["judge_positive_rate"]?.mean }
        #expect(means.count == 2 && abs(means[0] - 0.85) < 1e-12 && abs(means[1] - 0.65) < 1e-12, "\(means)")
        #expect(comparison.table.header[1] == "configuration")
        #expect(comparison.table.rows.map { $0[1] } == ["ppo.init_kl_coef=0.1", "ppo.init_kl_coef=0.1", "ppo.init_kl_coef=0.2", "ppo.init_kl_coef=0.2"])
        #expect(ArmComparison.isSeed("seed") && ArmComparison.isSeed("ppo.seed") && !ArmComparison.isSeed("ppo.init_kl_coef"))
    }

    /// algorithms.yaml's graph: the online pairs are the online DPO arm's own cost; the SFT model, the
    /// RM's pairs and the reward model are shared (the evaluations' other inputs depend on them).
    @Test func anArmsCostIsItsStageAndTheUpstreamStagesOnlyItUses() {
        let evalInputs: [(input: String, stage: String)] = [("baseline", "sft"), ("reward", "rm"), ("judge", "judge"), ("tokens", "tokens"), ("pairs", "pairs")]
        var upstream: [String: [(input: String, stage: String)]] = [
            "data": [], "tokens": [("data", "data")], "judge": [("data", "data")], "sft": [("tokens", "tokens")],
            "pairs": [("tokens", "tokens"), ("model", "sft")], "rm": [("pairs", "pairs"), ("init", "sft")],
            "ppo": [("policy", "sft"), ("reward", "rm"), ("tokens", "tokens")], "dpo": [("policy", "sft"), ("pairs", "pairs")],
            "online-pairs": [("tokens", "tokens"), ("model", "sft"), ("reward", "rm")], "dpo-online": [("policy", "sft"), ("pairs", "online-pairs")],
        ]
        let arms = ["ppo", "dpo", "dpo-online"]
        for arm in arms { upstream["eval-\(arm)"] = [("policy", arm)] + evalInputs }
        let order = ["data", "tokens", "judge", "sft", "pairs", "rm", "ppo", "dpo", "online-pairs", "dpo-online"] + arms.map { "eval-\($0)" }
        let costs = ArmComparison.costStages(arms: arms, evaluations: arms.map { "eval-\($0)" }, upstream: upstream, order: order)
        #expect(costs == ["ppo": ["ppo"], "dpo": ["dpo"], "dpo-online": ["dpo-online", "online-pairs"]])
        // One arm: what only it uses is its cost even without other arms; what the evaluation reads is not.
        let single: [String: [(input: String, stage: String)]] = [
            "sft": [], "prompts": [], "ppo": [("policy", "sft"), ("prompts", "prompts")], "eval": [("policy", "ppo"), ("baseline", "sft")],
        ]
        #expect(ArmComparison.costStages(arms: ["ppo"], evaluations: ["eval"], upstream: single, order: ["sft", "prompts", "ppo", "eval"])
                == ["ppo": ["ppo", "prompts"]])
        #expect(ArmComparison.producer(of: "dpo-online.model", among: order) == "dpo-online")
        #expect(ArmComparison.producer(of: "./data/reviews", among: order) == nil)
    }

    /// metrics.json as the evaluate stage writes it: the trained group and the comparison are the
    /// arm's figures; counts and the shared RM's and judge's figures are not.
    @Test func evaluationFileGivesTrainedAndBaselineFiguresAsNumbers() throws {
        let json = #"""
        {"sft": {"rm_reward_mean": 0.25, "judge_positive_rate": 0.5, "kl_to_reference_nats": 0, "samples": 64},
         "ppo": {"rm_reward_mean": 1.123456789, "judge_positive_rate": 0.875, "kl_to_reference_nats": 3.5, "samples": 64},
         "rm": {"pair_accuracy": 0.9}, "judge": {"heldout_accuracy": 0.8},
         "comparison": {"rm_win_rate": 0.75, "heldout_prompts": 60}}
        """#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        let file = try #require(EvaluationFile.parse(value, samplesPath: nil))
        #expect(file.baselineGroup == "sft" && file.trainedGroup == "ppo")
        #expect(file.trained == ["rm_reward_mean": 1.123456789, "judge_positive_rate": 0.875, "kl_to_reference_nats": 3.5, "rm_win_rate": 0.75])
        #expect(file.baseline == ["rm_reward_mean": 0.25, "judge_positive_rate": 0.5, "kl_to_reference_nats": 0])
        #expect(EvaluationFile.parse(.object(["accuracy": .double(0.5)]), samplesPath: nil) == nil)
    }

    @Test func frontierHasAPointPerArmAndSeedAndMarksTheMeans() {
        let comparison = ArmComparison.aggregate([
            Self.observation("ppo", seed: "1", judge: 0.8, kl: 2), Self.observation("grpo", seed: "1", judge: 0.6, kl: 1),
            Self.observation("ppo", seed: "2", judge: 0.9, kl: 4), Self.observation("grpo", seed: "2", judge: 0.75, kl: 3),
        ])
        let svg = ReportBuilder.frontierChart(comparison)
        let points = SVGAttributes.values("data-group", in: svg, element: "<circle class=\"pt scatter\"")
        #expect(points == ["SFT baseline (sft.model)", "SFT baseline (sft.model)", "ppo", "ppo", "grpo", "grpo"])
        #expect(svg.contains("data-group=\"ppo\" data-x=\"4.0\" data-y=\"0.9\""))
        // Means: ppo (3, 0.85), grpo (2, 0.675); colours: one per arm, grey for the baseline.
        #expect(svg.contains("<path class=\"mean\"") && svg.components(separatedBy: "<path class=\"mean\"").count - 1 == 3)
        let means = SVGAttributes.values("data-y", in: svg, element: "<path class=\"mean\"").compactMap(Double.init)
        #expect(means.count == 3 && abs(means[0] - 0.5) < 1e-12 && abs(means[1] - 0.85) < 1e-12 && abs(means[2] - 0.675) < 1e-12, "\(means)")
        #expect(SVGAttributes.values("data-x", in: svg, element: "<path class=\"mean\"") == ["0.0", "3.0", "2.0"])
        #expect(svg.contains("fill=\"\(SVGChart.palette[0])\" fill-opacity=\"0.75\" data-group=\"ppo\""))
        #expect(svg.contains("fill=\"\(SVGChart.palette[1])\" fill-opacity=\"0.75\" data-group=\"grpo\""))
        #expect(svg.contains("fill=\"\(SVGChart.palette[8])\" fill-opacity=\"0.75\" data-group=\"SFT baseline (sft.model)\""))
        #expect(svg.contains("judge positive rate vs KL"))
        // Without a KL figure there is no frontier.
        var noKL = Self.observation("ppo", seed: "1", judge: 0.8, kl: 2)
        noKL.trained["kl_to_reference_nats"] = nil; noKL.baseline = [:]
        #expect(ReportBuilder.frontierChart(ArmComparison.aggregate([noKL])) == "")
    }

    @Test func samplesSideBySideMatchPromptsAcrossArms() {
        var ppo = Self.observation("ppo", seed: "1", judge: 0.8, kl: 2)
        ppo.samples = [.init(prompt: "The film", baseline: " was ok", trained: " was great"), .init(prompt: "I", baseline: " hm", trained: " love <it>")]
        var grpo = Self.observation("grpo", seed: "1", judge: 0.6, kl: 1)
        grpo.samples = [.init(prompt: "I", baseline: " hm", trained: " like it"), .init(prompt: "The film", baseline: " was ok", trained: " was fine")]
        var page = HTMLReport(title: "t")
        ReportBuilder.appendArms(&page, ArmComparison.aggregate([ppo, grpo]))
        let html = page.html
        #expect(html.contains("<tr><td>The film</td><td> was ok</td><td> was great</td><td> was fine</td></tr>"), "\(html)")
        #expect(html.contains("<tr><td>I</td><td> hm</td><td> love &lt;it&gt;</td><td> like it</td></tr>"))
        #expect(html.contains("<th>prompt</th><th>SFT</th><th>ppo</th><th>grpo</th>"))
        #expect(html.contains("Arms: ppo, grpo"))
    }
}

/// Attribute values of the elements starting with `element` in an SVG.
enum SVGAttributes {
    static func values(_ name: String, in svg: String, element: String) -> [String] {
        svg.components(separatedBy: element).dropFirst().compactMap { chunk in
            guard let range = chunk.range(of: "\(name)=\"") else { return nil }
            return String(chunk[range.upperBound...].prefix { $0 != "\"" })
        }
    }
}
