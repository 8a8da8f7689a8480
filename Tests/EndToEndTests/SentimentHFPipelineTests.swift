import Foundation
import RandomTestSupport
import Testing
import WorkspaceTestSupport

/// pipelines/sentiment-hf.yaml as shipped, through the real `pipe` binary: the two model folders are
/// given with `--set policy.folder=… --set classifier.folder=…` and the reward is
/// scorers/hf_sentiment.py (a `command` source running a transformers classifier). The end-to-end run
/// needs torch + transformers ($PIPE_TORCH_PYTHON): tiny random stand-ins for both models are made by
/// transformers (save_pretrained). The error paths run in the default suite with plain python3.
@Suite("sentiment-hf pipeline", .serialized)
struct SentimentHFPipelineTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    static let torchPython = ProcessInfo.processInfo.environment["PIPE_TORCH_PYTHON"]
    static let standins = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("hf_sentiment_standins.py").path

    /// Whether the plain `python3` lacks torch (then the scorer must say so).
    static let python3WithoutTorch: Bool = {
        guard RewardCommandPipelineTests.python3 else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import torch"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus != 0
    }()

    /// A labelled review corpus in the vocabulary of `PretrainedModelTests`: positive and negative words
    /// after one of four openings, drawn from a seeded generator.
    static func reviews(positive: Bool, count: Int, seed: UInt64) -> String {
        let openings = ["这部电影很", "感觉", "真的很", "质量"]
        let words = positive ? ["好", "喜欢", "满意", "推荐", "不错", "快", "值得", "开心"]
                             : ["差", "失望", "退货", "垃圾", "慢", "不好", "后悔", "生气"]
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { i in
            var line = openings[Int(rng.next() % 4)]
            for _ in 0..<4 { line += words[Int(rng.next() % UInt64(words.count))] }
            return line + "。\(i)"
        }.joined(separator: "\n") + "\n"
    }

    /// The repository's files the pipeline reads, and a tiny review corpus at data/reviews.
    static func workspace() throws -> TestWorkspace {
        let workspace = try TestWorkspace("pipe-sentiment-hf")
        let root = SmokePipelineTests.repositoryRoot
        try FileManager.default.copyItem(atPath: root + "/stages", toPath: workspace.path("stages"))
        for file in ["pipelines/sentiment-hf.yaml", "scripts/hf_model_folder.py", "scorers/hf_sentiment.py"] {
            try workspace.write(file, try String(contentsOfFile: root + "/" + file, encoding: .utf8))
        }
        try workspace.write("data/reviews/pos.txt", reviews(positive: true, count: 120, seed: 1))
        try workspace.write("data/reviews/neg.txt", reviews(positive: false, count: 120, seed: 2))
        return workspace
    }

    /// Small sizes for every stage; the model folders are the caller's.
    static func settings(policy: String, classifier: String) -> [String] {
        [
            "policy.folder=" + policy, "classifier.folder=" + classifier,
            "judge.bucket_bits=10",
            "ppo.steps=3", "ppo.batch_size=8", "ppo.mini_batch_size=4", "ppo.ppo_epochs=1", "ppo.corpus_prompts=8",
            "ppo.lr=1e-3", "ppo.reward_timeout=900",
            "eval.prompts=4", "eval.samples_per_prompt=1", "eval.perplexity_reviews=8", "eval.reward_timeout=900",
        ].flatMap { ["--set", $0] }
    }

    static func runScorer(_ arguments: [String], in directory: String) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "scorers/hf_sentiment.py"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test(.enabled(if: RewardCommandPipelineTests.python3, "needs python3 on the PATH for the folder copy and the scorer"))
    func missingOrUnusableModelFoldersFailWithTheSettingToFix() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        try PretrainedModelTests.writeModel(into: workspace)

        // No folders given: the policy stage names the param to set.
        let bare = try pipe.run(["run", "pipelines/sentiment-hf.yaml"], in: workspace.root)
        #expect(bare.status != 0, "\(bare)")
        #expect(bare.output.contains("no policy folder given") && bare.output.contains("--set policy.folder=/ABSOLUTE/PATH"), "\(bare)")

        // A relative path would be read from the stage's own directory: refused.
        let relative = try pipe.run(["run", "pipelines/sentiment-hf.yaml", "--set", "policy.folder=models/tiny"], in: workspace.root)
        #expect(relative.status != 0)
        #expect(relative.output.contains("policy.folder 'models/tiny' is not an absolute path"), "\(relative)")

        // A folder without weights pipe reads (pytorch_model.bin folders are copied: pipe reads them directly).
        try workspace.write("models/no-weights/config.json", "{}")
        try workspace.write("models/no-weights/tf_model.h5", "not really")
        let noWeights = try pipe.run(["run", "pipelines/sentiment-hf.yaml", "--set", "policy.folder=" + workspace.path("models/no-weights")],
                                     in: workspace.root)
        #expect(noWeights.status != 0)
        #expect(noWeights.output.contains("policy folder '\(workspace.path("models/no-weights"))' has no model.safetensors or pytorch_model.bin "
            + "(nor their sharded index files); pipe reads GPT-2 weights in those two formats"), "\(noWeights)")

        // The policy copy on its own: a pytorch_model.bin folder is copied with its weights (pipe reads them);
        // with safetensors beside it, only the safetensors, as transformers would load.
        try workspace.write("models/bin-only/config.json", "{}")
        try workspace.write("models/bin-only/pytorch_model.bin", "weights")
        try workspace.write("models/both/config.json", "{}")
        try workspace.write("models/both/pytorch_model.bin", "weights")
        try workspace.write("models/both/model.safetensors", "weights")
        for (folder, expected) in [("bin-only", ["config.json", "pytorch_model.bin"]), ("both", ["config.json", "model.safetensors"])] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "scripts/hf_model_folder.py", "policy", workspace.path("models/" + folder),
                                 workspace.path("copies/" + folder), "--pipe-weights"]
            process.currentDirectoryURL = URL(fileURLWithPath: workspace.root)
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.path("copies/" + folder)).sorted() == expected)
        }

        // The scorer on its own: a missing folder, labels that name no positive class, a label that is not there.
        let missing = try Self.runScorer([workspace.path("nowhere")], in: workspace.root)
        #expect(missing.status != 0 && missing.stderr.contains("classifier folder '\(workspace.path("nowhere"))' does not exist"), "\(missing)")
        try workspace.write("models/labels/config.json", #"{"id2label": {"0": "LABEL_0", "1": "LABEL_1"}}"#)
        let unnamed = try Self.runScorer([workspace.path("models/labels")], in: workspace.root)
        #expect(unnamed.status != 0 && unnamed.stderr.contains("cannot tell which class is positive") && unnamed.stderr.contains("--positive-label"), "\(unnamed)")
        let wrong = try Self.runScorer([workspace.path("models/labels"), "--positive-label", "happy"], in: workspace.root)
        #expect(wrong.status != 0 && wrong.stderr.contains("'happy' is none of the classifier's labels (0: 'LABEL_0', 1: 'LABEL_1')"), "\(wrong)")

        // Without torch the PPO stage fails with the scorer's own explanation (its last stderr lines).
        if Self.python3WithoutTorch {
            try workspace.write("models/classifier/config.json", #"{"id2label": {"0": "negative (stars 1, 2 and 3)", "1": "positive (stars 4 and 5)"}}"#)
            let noTorch = try pipe.run(["run", "pipelines/sentiment-hf.yaml"]
                                       + Self.settings(policy: workspace.path("models/tiny"), classifier: workspace.path("models/classifier")),
                                       in: workspace.root, environment: ["PIPE_TORCH_PYTHON": "python3"])
            #expect(noTorch.status != 0, "\(noTorch)")
            #expect(noTorch.output.contains("reward command `${PIPE_TORCH_PYTHON:-python3}"), "\(noTorch)")
            #expect(noTorch.output.contains("needs torch and transformers"), "\(noTorch)")
        }
    }

    @Test(.enabled(if: torchPython != nil, "set PIPE_TORCH_PYTHON to a Python with torch + transformers to run sentiment-hf end to end"))
    func runsWithTransformersStandInsCachesAndReproducesBitForBit() throws {
        let python = try #require(Self.torchPython)
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        try workspace.write("vocab.txt", PretrainedModelTests.vocabulary.joined(separator: "\n") + "\n")
        let make = Process()
        make.executableURL = URL(fileURLWithPath: python)
        make.arguments = [Self.standins, workspace.path("vocab.txt"), workspace.path("hub/policy"), workspace.path("hub/classifier")]
        make.standardError = FileHandle.nullDevice
        make.standardOutput = FileHandle.nullDevice
        try make.run()
        make.waitUntilExit()
        try #require(make.terminationStatus == 0, "hf_sentiment_standins.py failed")

        let arguments = ["run", "pipelines/sentiment-hf.yaml"] + Self.settings(policy: workspace.path("hub/policy"), classifier: workspace.path("hub/classifier"))
        let first = try pipe.run(arguments, in: workspace.root)
        try #require(first.status == 0, "\(first)")
        #expect(first.output.contains("7 ran, 0 cached"), "\(first)")

        // The policy's texts end with [PAD]; the scorer says what it loaded and is deterministic.
        let tokensLog = try pipe.run(["log", "latest", "tokens"], in: workspace.root)
        #expect(tokensLog.stdout.contains("end of text id 0"), "[PAD] ends texts: \(tokensLog)")
        let ppoLog = try pipe.run(["log", "latest", "ppo"], in: workspace.root)
        #expect(ppoLog.output.contains("reward command stderr: hf_sentiment.py: BertForSequenceClassification"), "\(ppoLog)")
        #expect(ppoLog.output.contains("P('positive (stars 4 and 5)')"), "\(ppoLog)")
        #expect(ppoLog.output.contains("reward source 'command': same rewards for the first batch asked twice"), "\(ppoLog)")

        // Per-step rewards are probabilities.
        #expect(try pipe.run(["export", "latest", "ppo", "--output", "metrics", "--to", workspace.path("ppo-metrics")], in: workspace.root).status == 0)
        let steps = try workspace.read("ppo-metrics/metrics.jsonl").split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(steps.count == 3, "\(steps.count) steps")
        for step in steps {
            let score = try #require(step["objective/scores"] as? Double, "\(step)")
            #expect((0...1).contains(score), "mean P(positive) \(score)")
            #expect((step["rewards/command/nondeterministic"] as? Double ?? 0) == 0)
        }

        // The evaluation reports the classifier's P(positive) and the judge for both models.
        #expect(try pipe.run(["export", "latest", "eval", "--to", workspace.path("eval")], in: workspace.root).status == 0)
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: workspace.path("eval/metrics.json")))) as? [String: Any])
        for model in ["sft", "ppo"] {
            let figures = try #require(metrics[model] as? [String: Any], "\(metrics)")
            let reward = try #require(figures["rm_reward_mean"] as? Double, "\(figures)")
            #expect((0...1).contains(reward), "P(positive) \(reward)")
            let judged = try #require(figures["judge_positive_rate"] as? Double, "\(figures)")
            #expect((0...1).contains(judged))
        }
        for line in try workspace.read("eval/samples.jsonl").split(separator: "\n") {
            let sample = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for name in ["sft_rm", "ppo_rm"] {
                let reward = try #require(sample[name] as? Double, "\(sample)")
                #expect((0...1).contains(reward), "\(name) \(reward)")
            }
        }

        // Again: everything cached. Then every stage without the cache (a fresh scorer too): same bytes.
        let second = try pipe.run(arguments, in: workspace.root)
        #expect(second.status == 0, "\(second)")
        #expect(second.output.contains("0 ran, 7 cached"), "\(second)")
        let reproduce = try pipe.run(["reproduce", "latest"], in: workspace.root)
        #expect(reproduce.status == 0, "\(reproduce)")
        #expect(reproduce.stdout.contains("all 7 stages reproduced bit for bit"), "\(reproduce)")

        // The same policy as an old hub folder, pytorch_model.bin only (torch.save, tied head): its bytes key
        // the stages (the policy and what follows run again), pipe reads it directly, the PPO steps are the same.
        let convert = Process()
        convert.executableURL = URL(fileURLWithPath: python)
        convert.arguments = ["-c", """
            import os, shutil, sys, torch
            from safetensors.torch import load_file
            source, out = sys.argv[1], sys.argv[2]
            os.makedirs(out)
            for name in os.listdir(source):
                if name != "model.safetensors":
                    shutil.copy(os.path.join(source, name), out)
            state = load_file(os.path.join(source, "model.safetensors"))
            state["lm_head.weight"] = state["transformer.wte.weight"]
            torch.save(state, os.path.join(out, "pytorch_model.bin"))
            """, workspace.path("hub/policy"), workspace.path("hub/policy-bin")]
        try convert.run()
        convert.waitUntilExit()
        try #require(convert.terminationStatus == 0, "torch.save of the policy failed")
        let fromBin = try pipe.run(["run", "pipelines/sentiment-hf.yaml"]
            + Self.settings(policy: workspace.path("hub/policy-bin"), classifier: workspace.path("hub/classifier")), in: workspace.root)
        try #require(fromBin.status == 0, "\(fromBin)")
        #expect(!fromBin.output.contains("0 ran"), "\(fromBin)")
        #expect(try pipe.run(["export", "latest", "ppo", "--output", "metrics", "--to", workspace.path("ppo-metrics-bin")], in: workspace.root).status == 0)
        let scores = { (file: String) throws -> [Double] in
            try workspace.read(file).split(separator: "\n").map { line in
                let step = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return try #require(step["objective/scores"] as? Double)
            }
        }
        #expect(try scores("ppo-metrics-bin/metrics.jsonl") == scores("ppo-metrics/metrics.jsonl"))
    }
}
