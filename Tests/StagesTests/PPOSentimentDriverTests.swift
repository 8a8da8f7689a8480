import Foundation
import PipeTestSupport
import Testing
import Stages

/// The flagship chain on the real review corpus (data/reviews from scripts/fetch-data.sh), with the sizes
/// of pipelines/sentiment.yaml, for tuning and for reporting figures before the runner can run the YAML.
/// Opt-in (minutes in a release build):
///   PIPE_SENTIMENT_DRIVER=/tmp/out PIPE_CHAIN_VERBOSE=1 swift test -c release -Xswiftc -enable-testing \
///     --scratch-path .build-rlhf-rel --filter PPOSentimentDriverTests
@Suite struct PPOSentimentDriverTests {
    static let output = ProcessInfo.processInfo.environment["PIPE_SENTIMENT_DRIVER"]

    static func env(_ name: String, _ fallback: Int) -> StageParamValue {
        .int(Int64(ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? fallback))
    }
    static func envFloat(_ name: String, _ fallback: Double) -> StageParamValue {
        .float(ProcessInfo.processInfo.environment[name].flatMap(Double.init) ?? fallback)
    }

    @Test(.enabled(if: output != nil, "set PIPE_SENTIMENT_DRIVER=<dir> to run the flagship chain on data/reviews"))
    func flagshipChainOnRealData() throws {
        let source = StageChain.repositoryRoot + "/data/reviews"
        guard FileManager.default.fileExists(atPath: source + "/pos.txt") else {
            Issue.record("no data: run scripts/fetch-data.sh first"); return
        }
        // Reuses finished stages under the same directory: set PPO_NAME to tune PPO without retraining SFT/RM.
        let root = Self.output!
        let threads = Int(ProcessInfo.processInfo.environment["PIPE_THREADS"] ?? "2") ?? 2
        let c = StageChain(root: root, seed: 42, threads: threads, reuse: true)
        let ppoName = ProcessInfo.processInfo.environment["PPO_NAME"] ?? "ppo"
        let evalName = ppoName == "ppo" ? "eval" : "eval-" + ppoName
        let start = Date()
        try c.run("data", PrepareStage.self, inputs: ["source": source], outputs: ["data"])
        try c.run("tokens", TokeniseStage.self, inputs: ["data": "data.data"], outputs: ["tokenizer", "tokens"],
                  with: ["vocab_size": Self.env("VOCAB", 5000)])
        try c.run("judge", JudgeStage.self, inputs: ["data": "data.data"], outputs: ["model"])
        try c.run("sft", SFTStage.self, inputs: ["tokens": "tokens.tokens", "tokenizer": "tokens.tokenizer"], outputs: ["model", "metrics"],
                  with: ["n_layer": Self.env("LAYERS", 4), "n_head": .int(4), "n_embd": Self.env("WIDTH", 256),
                         "block_size": .int(64), "steps": Self.env("SFT_STEPS", 1500), "lr": Self.envFloat("SFT_LR", 1e-3)])
        try c.run("pairs", RMPairsStage.self, inputs: ["tokens": "tokens.tokens", "model": "sft.model"], outputs: ["pairs"],
                  with: ["pairs": Self.env("PAIRS", 4000)])
        try c.run("rm", RewardModelStage.self, inputs: ["pairs": "pairs.pairs", "init": "sft.model"], outputs: ["model", "metrics"],
                  with: ["lr": Self.envFloat("RM_LR", 1e-4), "epochs": Self.env("RM_EPOCHS", 1)])
        try c.run(ppoName, PPOStage.self, inputs: ["policy": "sft.model", "reward": "rm.model", "tokens": "tokens.tokens"],
                  outputs: ["model", "metrics", "checkpoint"],
                  with: ["steps": Self.env("PPO_STEPS", 60), "lr": Self.envFloat("PPO_LR", 1.41e-5),
                         "init_kl_coef": Self.envFloat("KL", 0.2)])
        try c.run(evalName, EvaluateStage.self, inputs: ["policy": ppoName + ".model", "baseline": "sft.model", "reward": "rm.model",
                                                       "judge": "judge.model", "tokens": "tokens.tokens", "pairs": "pairs.pairs"],
                  outputs: ["report"])
        print("total \(String(format: "%.0f", Date().timeIntervalSince(start))) s; report in \(c.outputs[evalName + ".report"]!)")
        print(String(decoding: FileManager.default.contents(atPath: c.outputs[evalName + ".report"]! + "/metrics.json")!, as: UTF8.self))
    }
}
