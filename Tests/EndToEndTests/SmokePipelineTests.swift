import Foundation
import Testing
import WorkspaceTestSupport

/// The repository's own `pipelines/smoke.yaml` — every built-in RLHF stage at toy sizes, on a
/// corpus its first stage generates — run through the real `pipe` binary in a copy of the workspace.
@Suite("pipelines/smoke.yaml end to end", .serialized)
struct SmokePipelineTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// The repository root, found from this file's path (Tests/EndToEndTests/…).
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// A temp workspace with the repository's `stages/` declarations and `pipelines/smoke.yaml`.
    static func workspace() throws -> TestWorkspace {
        let workspace = try TestWorkspace("pipe-smoke")
        let files = FileManager.default
        try files.copyItem(atPath: repositoryRoot + "/stages", toPath: workspace.path("stages"))
        try files.createDirectory(atPath: workspace.path("pipelines"), withIntermediateDirectories: true)
        try files.copyItem(atPath: repositoryRoot + "/pipelines/smoke.yaml", toPath: workspace.path("pipelines/smoke.yaml"))
        return workspace
    }

    @Test func runsEveryStageThenCachesThenReproducesBitForBit() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }

        let first = try pipe.run(["run", "pipelines/smoke.yaml"], in: workspace.root)
        #expect(first.status == 0, "\(first)")
        #expect(first.output.contains("13 ran, 0 cached"), "\(first)")

        let second = try pipe.run(["run", "pipelines/smoke.yaml"], in: workspace.root)
        #expect(second.status == 0, "\(second)")
        #expect(second.output.contains("0 ran, 13 cached"), "\(second)")

        // The evaluation report compares SFT and PPO with finite, in-range figures.
        let export = try pipe.run(["export", "latest", "eval", "--to", workspace.path("eval")], in: workspace.root)
        #expect(export.status == 0, "\(export)")
        let metricsData = try Data(contentsOf: URL(fileURLWithPath: workspace.path("eval/metrics.json")))
        let metrics = try #require(try JSONSerialization.jsonObject(with: metricsData) as? [String: Any])
        for model in ["sft", "ppo"] {
            let figures = try #require(metrics[model] as? [String: Any], "no '\(model)' section in \(metrics)")
            let positiveRate = try #require(figures["judge_positive_rate"] as? Double)
            let perplexity = try #require(figures["heldout_perplexity"] as? Double)
            let reward = try #require(figures["rm_reward_mean"] as? Double)
            #expect((0...1).contains(positiveRate))
            #expect(perplexity.isFinite && perplexity > 1)
            #expect(reward.isFinite)
        }
        let samples = try workspace.read("eval/samples.jsonl").split(separator: "\n")
        #expect(samples.count >= 4, "the four classic prompts are always sampled")

        // Every stage — data, tokeniser, judge, SFT, RM, PPO, evaluation — re-executed without the
        // cache in fresh processes gives the same bytes.
        let reproduce = try pipe.run(["reproduce", "latest"], in: workspace.root)
        #expect(reproduce.status == 0, "\(reproduce)")
        #expect(reproduce.stdout.contains("all 13 stages reproduced bit for bit"), "\(reproduce)")
    }

    @Test func changingAPPOParamRerunsOnlyPPOAndEvaluate() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        #expect(try pipe.run(["run", "pipelines/smoke.yaml"], in: workspace.root).status == 0)

        let status = try pipe.run(["status", "pipelines/smoke.yaml", "--set", "ppo.init_kl_coef=0.1"], in: workspace.root)
        #expect(status.stdout.contains("param init_kl_coef changed 0.2 → 0.1"), "\(status)")

        let rerun = try pipe.run(["run", "pipelines/smoke.yaml", "--set", "ppo.init_kl_coef=0.1"], in: workspace.root)
        #expect(rerun.status == 0, "\(rerun)")
        #expect(rerun.output.contains("2 ran, 11 cached"), "\(rerun)")
    }
}
