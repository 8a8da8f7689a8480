import Foundation
import Testing
import WorkspaceTestSupport

/// PPO and evaluate with a `command` reward source through the real `pipe` binary: the scorer's files
/// come from a stage output wired as the `scorer` input (so they are in the key), the scorer is a
/// deterministic Python program speaking JSON lines, and the same key gives the same bytes again.
@Suite("reward command scorer end to end", .serialized)
struct RewardCommandPipelineTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    static let python3: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import json"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// Rewards the share of positive characters in a completion (a stand-in for a sentiment
    /// classifier): deterministic, logs to stderr, exits at end of input.
    static let scorer = """
    import json, sys
    POSITIVE = set("好喜欢满意推荐不错快值得开心")
    print("positive-share scorer ready", file=sys.stderr, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        rewards = [sum(ch in POSITIVE for ch in c) / max(len(c), 1) for c in request["completions"]]
        print(json.dumps({"rewards": rewards}), flush=True)

    """

    static let pipeline = """
    name: reward-command
    seed: 11
    stages:
    \(ToyReviewCorpus.stage(reviewsPerLabel: 120))
      scorer:
        run: "mkdir -p ${outs.dir} && cp scorers/positive_share.py ${outs.dir}/"
        deps: [scorers/positive_share.py]
        outs: [dir]
      data:   { uses: dataset, inputs: { source: corpus.dir }, with: { kind: labelled, extra_splits: ["judge:0.45"], min_chars: 4 } }
      tokens: { uses: tokenise, inputs: { data: data.data }, with: { vocab_size: 300 } }
      judge:  { uses: judge, inputs: { data: data.data }, with: { bucket_bits: 10 } }
      sft:
        uses: sft
        inputs: { tokens: tokens.tokens, tokenizer: tokens.tokenizer }
        with: { n_layer: 1, n_head: 2, n_embd: 16, block_size: 48, batch_size: 8, steps: 20, lr: 3e-3, eval_interval: 20, eval_batches: 1 }
      ppo:
        uses: ppo
        inputs: { policy: sft.model, scorer: scorer.dir, tokens: tokens.tokens }
        with: { steps: 3, batch_size: 8, mini_batch_size: 4, ppo_epochs: 1, response_length: 6, lr: 1e-3, corpus_prompts: 4,
                reward_sources: [command, repetition_penalty], reward_weights: [1.0, 0.5],
                reward_command: "python3 ${inputs.scorer}/positive_share.py", reward_timeout: 60 }
      eval:
        uses: evaluate
        inputs: { policy: ppo.model, baseline: sft.model, judge: judge.model, tokens: tokens.tokens, scorer: scorer.dir }
        with: { prompts: 4, samples_per_prompt: 1, response_length: 6, perplexity_reviews: 8,
                reward_sources: [command], reward_command: "python3 ${inputs.scorer}/positive_share.py" }

    """

    static func workspace() throws -> TestWorkspace {
        let workspace = try TestWorkspace("pipe-reward-command")
        try FileManager.default.copyItem(atPath: SmokePipelineTests.repositoryRoot + "/stages", toPath: workspace.path("stages"))
        try workspace.write("pipelines/reward-command.yaml", pipeline)
        try workspace.write("scorers/positive_share.py", scorer)
        return workspace
    }

    @Test(.enabled(if: python3, "needs python3 on the PATH for the scorer"))
    func ppoAndEvaluateScoreWithACommandAndReproduceBitForBit() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        let first = try pipe.run(["run", "pipelines/reward-command.yaml"], in: workspace.root)
        #expect(first.status == 0, "\(first)")
        #expect(first.output.contains("8 ran, 0 cached"), "\(first)")

        // Per-source metrics and the first-batch reproducibility flag are in metrics.jsonl.
        #expect(try pipe.run(["export", "latest", "ppo", "--output", "metrics", "--to", workspace.path("ppo-metrics")], in: workspace.root).status == 0)
        let lines = try workspace.read("ppo-metrics/metrics.jsonl").split(separator: "\n").map(String.init)
        #expect(lines.count >= 3, "\(lines)")
        for name in ["rewards/command/mean", "rewards/command/std", "rewards/repetition_penalty/mean", "rewards/repetition_penalty/std"] {
            #expect(lines.allSatisfy { $0.contains("\"\(name)\"") }, "\(name) missing: \(lines)")
        }
        #expect(lines[0].contains("\"rewards/command/nondeterministic\":0"), "\(lines[0])")

        #expect(try pipe.run(["export", "latest", "eval", "--to", workspace.path("eval")], in: workspace.root).status == 0)
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: workspace.path("eval/metrics.json")))) as? [String: Any])
        for model in ["sft", "ppo"] {
            let reward = try #require((metrics[model] as? [String: Any])?["rm_reward_mean"] as? Double, "\(metrics)")
            #expect((0...1).contains(reward), "a positive share: \(reward)")
        }
        #expect(metrics["rm"] == nil, "no reward model: no pair accuracy")

        // The scorer's stderr is in the stage log.
        let log = try pipe.run(["log", "latest", "ppo"], in: workspace.root)
        #expect(log.status == 0, "\(log)")
        #expect(log.output.contains("reward command stderr: positive-share scorer ready"), "\(log)")
        #expect(log.output.contains("reward source 'command': same rewards for the first batch asked twice"), "\(log)")

        // Every stage again without the cache, in fresh processes (a fresh scorer too): same bytes.
        let reproduce = try pipe.run(["reproduce", "latest"], in: workspace.root)
        #expect(reproduce.status == 0, "\(reproduce)")
        #expect(reproduce.stdout.contains("all 8 stages reproduced bit for bit"), "\(reproduce)")

        // The scorer's files are in the key: editing the script reruns ppo and eval only.
        try workspace.write("scorers/positive_share.py", Self.scorer.replacingOccurrences(of: "max(len(c), 1)", with: "max(len(c), 2)"))
        let status = try pipe.run(["status", "pipelines/reward-command.yaml"], in: workspace.root)
        #expect(status.status == 0, "\(status)")
        let rerun = try pipe.run(["run", "pipelines/reward-command.yaml"], in: workspace.root)
        #expect(rerun.status == 0, "\(rerun)")
        #expect(rerun.output.contains("3 ran, 5 cached"), "scorer, ppo, eval rerun: \(rerun)")
    }

    @Test(.enabled(if: python3, "needs python3 on the PATH for the scorer"))
    func aCrashingScorerFailsTheStageWithItsStderr() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        try workspace.write("scorers/positive_share.py", "import sys\nsys.stdin.readline()\nprint('CUDA out of memory (not really)', file=sys.stderr)\nsys.exit(2)\n")
        let result = try pipe.run(["run", "pipelines/reward-command.yaml", "--set", "ppo.reward_sources=[command]", "--set", "ppo.reward_weights=[]"], in: workspace.root)
        #expect(result.status != 0, "\(result)")
        #expect(result.output.contains("reward command `python3"), "\(result)")
        #expect(result.output.contains("CUDA out of memory (not really)"), "\(result)")
    }
}
