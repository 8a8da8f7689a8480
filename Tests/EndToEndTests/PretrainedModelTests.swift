import Foundation
import Models
import Tensor
import Tokenizer
import Testing
import WorkspaceTestSupport

/// A user's own pretrained model in the classic Chinese demo's shape — HF GPT-2 layout, a bare BERT
/// `vocab.txt` with `tokenizer_config.json` (no tokenizer.json), an EOS id outside the vocabulary so
/// `[PAD]` ends texts — tokenises the corpus, is fine-tuned by SFT from `init:`, and exports as a
/// folder that keeps its WordPiece files.
@Suite("a pretrained WordPiece GPT-2 through the pipeline", .serialized)
struct PretrainedModelTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// Every character of smoke.yaml's generated corpus, WordPiece-style.
    static let vocabulary: [String] = {
        var tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "，", "。"]
        for c in "这部电影很感觉真的质量好喜欢满意推荐不错快值得开心差失望退货垃圾慢后悔生气" where !tokens.contains(String(c)) {
            tokens.append(String(c))
        }
        tokens += (0...9).map(String.init) + (0...9).map { "##\($0)" }
        return tokens
    }()

    /// `models/tiny/`: config.json (eos/bos 50256, as the uer model's), model.safetensors, vocab.txt,
    /// tokenizer_config.json — what a user copies from the hub.
    static func writeModel(into workspace: TestWorkspace) throws {
        let dir = workspace.path("models/tiny")
        var config = GPTConfig(vocabSize: vocabulary.count, maxPositions: 64, channels: 32, layers: 1, heads: 2)
        config.initializerRange = 0.2
        try GPTModel(config: config, seed: 5).save(to: dir)
        let configPath = dir + "/config.json"
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any])
        json["bos_token_id"] = 50256
        json["eos_token_id"] = 50256
        json["tokenizer_class"] = "BertTokenizer"
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: URL(fileURLWithPath: configPath))
        try workspace.write("models/tiny/vocab.txt", vocabulary.joined(separator: "\n") + "\n")
        try workspace.write("models/tiny/tokenizer_config.json",
                            #"{"do_lower_case": false, "tokenize_chinese_chars": true, "tokenizer_class": "BertTokenizer", "model_max_length": 64}"#)
    }

    @Test func tokenisesFineTunesAndExportsWithItsOwnTokenizer() throws {
        let workspace = try SmokePipelineTests.workspace()
        defer { workspace.remove() }
        try Self.writeModel(into: workspace)
        let head = try workspace.read("pipelines/smoke.yaml").components(separatedBy: "\n  tokens:")[0]
        try workspace.write("pipelines/own.yaml", head + """

          model:  { run: "cp -r models/tiny ${outs.dir}", deps: [models/tiny], outs: [dir] }
          tokens: { uses: tokenise, inputs: { data: data.data, pretrained: model.dir }, with: { eos_token: "[PAD]" } }
          sft:
            uses: sft
            inputs: { tokens: tokens.tokens, tokenizer: tokens.tokenizer, init: model.dir }
            with: { block_size: 32, batch_size: 4, steps: 30, lr: 3e-3, warmup_steps: 2, eval_interval: 10, eval_batches: 2 }

        """)
        let run = try pipe.run(["run", "pipelines/own.yaml"], in: workspace.root)
        #expect(run.status == 0, "\(run)")
        let tokensLog = try pipe.run(["log", "latest", "tokens"], in: workspace.root)
        #expect(tokensLog.stdout.contains("end of text id 0"), "[PAD] ends texts: \(tokensLog)")

        let sftLog = try pipe.run(["log", "latest", "sft"], in: workspace.root)
        #expect(sftLog.stdout.contains("sft: starting from"), "\(sftLog)")
        let export = try pipe.run(["export", "latest", "sft", "--output", "model", "--to", workspace.path("out")], in: workspace.root)
        #expect(export.status == 0, "\(export)")
        // The exported folder keeps the user's world: WordPiece files, [PAD] as the end of text.
        #expect(try workspace.read("out/vocab.txt") == Self.vocabulary.joined(separator: "\n") + "\n")
        let tokenizerConfig = try workspace.read("out/tokenizer_config.json")
        #expect(tokenizerConfig.contains(#""eos_token": "[PAD]""#) || tokenizerConfig.contains(#""eos_token":"[PAD]""#), "\(tokenizerConfig)")
        #expect(workspace.exists("out/tokenizer.json") && workspace.exists("out/model.safetensors"))

        // Fine-tuning moved the weights, and the result samples in the same vocabulary.
        let before = try Data(contentsOf: URL(fileURLWithPath: workspace.path("models/tiny/model.safetensors")))
        let after = try Data(contentsOf: URL(fileURLWithPath: workspace.path("out/model.safetensors")))
        #expect(before != after)
        let sample = try pipe.run(["sample", workspace.path("out"), "--prompt", "这部电影很", "--max-new-tokens", "8"], in: workspace.root)
        #expect(sample.status == 0, "\(sample)")
        #expect(sample.stdout.contains("这部电影很"), "\(sample)")
    }
}

/// The round trip a transformers user makes: `save_pretrained` writes a random GPT-2 and a
/// BertTokenizerFast (tokenizer.json, no vocab.txt handling by pipe needed), pipe tokenises and
/// fine-tunes from it, and transformers loads the exported folder back: the same token ids for a text
/// and the same logits within 1e-4. Runs when $PIPE_TORCH_PYTHON names a Python with torch and
/// transformers; skipped otherwise.
@Suite("a transformers model fine-tuned by pipe and loaded back by transformers", .serialized)
struct TransformersFineTuneRoundTripTests {
    static let python = ProcessInfo.processInfo.environment["PIPE_TORCH_PYTHON"]
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("transformers_roundtrip.py").path

    func runScript(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python!)
        p.arguments = [Self.script] + arguments
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "transformers_roundtrip.py \(arguments.first ?? "") failed")
    }

    @Test(.enabled(if: python != nil, "set PIPE_TORCH_PYTHON to a Python with torch + transformers to run"))
    func fineTunedFolderGivesTransformersTheSameIdsAndLogits() throws {
        let pipe = try PipeBinary()
        let workspace = try SmokePipelineTests.workspace()
        defer { workspace.remove() }
        try workspace.write("vocab.txt", PretrainedModelTests.vocabulary.joined(separator: "\n") + "\n")
        try runScript(["make", workspace.path("models/hf"), workspace.path("vocab.txt")])
        let head = try workspace.read("pipelines/smoke.yaml").components(separatedBy: "\n  tokens:")[0]
        try workspace.write("pipelines/hf.yaml", head + """

          model:  { run: "cp -r models/hf ${outs.dir}", deps: [models/hf], outs: [dir] }
          tokens: { uses: tokenise, inputs: { data: data.data, pretrained: model.dir }, with: { eos_token: "[PAD]" } }
          sft:
            uses: sft
            inputs: { tokens: tokens.tokens, tokenizer: tokens.tokenizer, init: model.dir }
            with: { block_size: 32, batch_size: 4, steps: 20, lr: 3e-3, warmup_steps: 2, eval_interval: 10, eval_batches: 2 }

        """)
        let run = try pipe.run(["run", "pipelines/hf.yaml"], in: workspace.root)
        try #require(run.status == 0, "\(run)")
        let export = try pipe.run(["export", "latest", "sft", "--output", "model", "--to", workspace.path("out")], in: workspace.root)
        try #require(export.status == 0, "\(export)")

        let text = "这部电影很好，推荐1234"
        try runScript(["check", workspace.path("out"), text, workspace.path("theirs.json")])
        struct Theirs: Decodable { let ids: [Int32]; let logits: [Float] }
        let theirs = try JSONDecoder().decode(Theirs.self, from: Data(contentsOf: URL(fileURLWithPath: workspace.path("theirs.json"))))

        let tokenizer = try PretrainedTokenizer.load(directory: workspace.path("out"))
        let ids = tokenizer.encode(text)
        #expect(ids == theirs.ids)
        let model = try GPTModel.load(from: workspace.path("out"))
        model.forward(TokenBatch(tokens: theirs.ids, batch: 1, time: theirs.ids.count))
        let ours = Array(model.logits[0 ..< theirs.logits.count])
        try #require(ours.count == theirs.logits.count)
        let worst = zip(ours, theirs.logits).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(worst < 1e-4, "max |Δlogit| \(worst)")
        // Fine-tuning moved the weights away from what transformers wrote.
        #expect(try Data(contentsOf: URL(fileURLWithPath: workspace.path("models/hf/model.safetensors")))
                != Data(contentsOf: URL(fileURLWithPath: workspace.path("out/model.safetensors"))))
    }
}
