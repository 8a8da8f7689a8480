import Foundation
import Models
import WorkspaceTestSupport
import Stages
import Tensor
import Testing
import Tokenizer

/// `pipe sample` on HF-style model folders: it samples from good ones, and every broken one is a single
/// `error:` line with exit status 2, quickly, with no usage text and no crash.
@Suite("pipe sample: model folders")
struct SampleCommandTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// A byte-level tokenizer (256 bytes + `<|endoftext|>`) and a tiny model over its vocabulary.
    static func writeModel(to dir: String, vocabulary: Int = 257) throws -> GPTModel {
        let tokenizer = BPETokenizer(tokenBytes: (0..<256).map { [UInt8($0)] } + [Array("<|endoftext|>".utf8)], merges: [],
                                     specialTokens: [("<|endoftext|>", 256)])
        var config = GPTConfig(vocabSize: vocabulary, maxPositions: 64, channels: 16, layers: 2, heads: 2)
        config.initializerRange = 0.2
        let model = try GPTModel(config: config, seed: 3)
        try ModelArtifacts.save(model, tokenizer: PretrainedTokenizer(tokenizer), to: dir)
        return model
    }

    func sample(_ dir: String, in workspace: TestWorkspace) throws -> PipeBinary.Result {
        try pipe.run(["sample", dir, "-p", "ab", "-n", "1", "--max-new-tokens", "4", "--greedy"], in: workspace.root)
    }

    @Test func samplesFromShardedHalfPrecisionFolders() throws {
        let workspace = try TestWorkspace("pipe-e2e-sample")
        defer { workspace.remove() }
        let dir = workspace.path("model")
        let model = try Self.writeModel(to: dir)
        let reference = try sample(dir, in: workspace)
        #expect(reference.status == 0 && reference.stdout.contains("1. ab"), "\(reference)")
        // The same weights in two F16 shards without the `transformer.` prefix sample too.
        try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
        var map: [String] = []
        for (i, t) in model.layout.tensors.enumerated() {
            let file = "model-0000\(i % 2 + 1)-of-00002.safetensors"
            map.append("\"\(t.name.replacingOccurrences(of: "transformer.", with: ""))\": \"\(file)\"")
        }
        for shard in 0..<2 {
            let tensors = model.layout.tensors.enumerated().filter { $0.offset % 2 == shard }.map { _, t in
                SafetensorsTensor(name: t.name.replacingOccurrences(of: "transformer.", with: ""), shape: t.shape,
                                  floats: UnsafeBufferPointer(start: model.parameters.pointer + t.offset, count: t.count), storedAs: .f16)
            }
            try Safetensors.write(tensors, to: dir + "/model-0000\(shard + 1)-of-00002.safetensors")
        }
        try workspace.write("model/model.safetensors.index.json", "{\"weight_map\": {\(map.joined(separator: ", "))}}")
        let sharded = try sample(dir, in: workspace)
        #expect(sharded.status == 0 && sharded.stdout.contains("1. ab"), "\(sharded)")
    }

    /// A model trained with a template is prompted through it: `--prompt` fills `{prompt}`, `--field`
    /// the other fields, `--raw` skips it; the same greedy tokens as prompting the rendered text raw.
    @Test func promptsGoThroughTheModelsTemplate() throws {
        let workspace = try TestWorkspace("pipe-e2e-sample-template")
        defer { workspace.remove() }
        let dir = workspace.path("model")
        _ = try Self.writeModel(to: dir)
        try TemplateFile.save(try PromptTemplate("Q: {prompt}{#input} ({input}){/input}\nA: "), to: dir)
        let templated = try pipe.run(["sample", dir, "-p", "ab", "--field", "input=cd", "-n", "1", "--max-new-tokens", "4", "--greedy"],
                                     in: workspace.root)
        #expect(templated.status == 0, "\(templated)")
        #expect(templated.stdout.hasPrefix("Q: ab (cd)\nA: \n"), "\(templated.stdout)")
        let raw = try pipe.run(["sample", dir, "--raw", "-p", "Q: ab (cd)\nA: ", "-n", "1", "--max-new-tokens", "4", "--greedy"],
                               in: workspace.root)
        #expect(raw.status == 0 && raw.stdout == templated.stdout, "raw \(raw.stdout) vs templated \(templated.stdout)")
        let missing = try PromptTemplate("{instruction}")
        try TemplateFile.save(missing, to: dir)
        let bad = try pipe.run(["sample", dir, "-p", "ab"], in: workspace.root)
        #expect(bad.status == 2)
        #expect(bad.stderr == "error: \(dir)/prompt_template.json: template: the record has no field `instruction` (its fields: prompt); map a column to it in the dataset stage or change the template\n", "\(bad)")
    }

    /// Special-token text in a prompt is the special token, as the training stages encode prompts and as
    /// transformers does (a chat model's `<|im_start|>`), with or without a template.
    @Test func specialTokenTextInAPromptIsTheToken() throws {
        let workspace = try TestWorkspace("pipe-e2e-sample-special")
        defer { workspace.remove() }
        let dir = workspace.path("model")
        let model = try Self.writeModel(to: dir)
        let tokenizer = try PretrainedTokenizer.load(directory: dir)
        let eos = tokenizer.endOfTextId, prompt = "a<|endoftext|>b"
        #expect(tokenizer.encode(prompt) == [97, eos, 98])
        let greedy = model.beamSearch(prompts: [[eos, 97, eos, 98]], options: BeamSearchOptions(
            maxNewTokens: 6, numBeams: 1, lengthPenalty: 1, numReturnSequences: 1, eosTokenID: eos))
        let expected = tokenizer.decode(greedy.hypotheses[0][0].tokens, skipSpecial: true)
        let raw = try pipe.run(["sample", dir, "--raw", "-p", prompt, "-n", "1", "--max-new-tokens", "6", "--greedy"], in: workspace.root)
        #expect(raw.status == 0 && raw.stdout.contains("1. \(prompt)\(expected)   ["), "\(raw.stdout) vs \(expected)")
        try TemplateFile.save(try PromptTemplate("{prompt}"), to: dir)
        let templated = try pipe.run(["sample", dir, "-p", prompt, "-n", "1", "--max-new-tokens", "6", "--greedy"], in: workspace.root)
        #expect(templated.stdout == raw.stdout)
    }

    /// generation_config.json's eos_token_id (an id or a list) ends a row at any of its ids, as
    /// transformers' generate does, in sampling and beam search; an id outside the vocabulary is
    /// ignored with a warning; `--eos-token-id` replaces the file's ids and `--no-stop` ignores them.
    @Test func generationConfigEOSIdsEndARow() throws {
        let workspace = try TestWorkspace("pipe-e2e-sample-eos")
        defer { workspace.remove() }
        let dir = workspace.path("model")
        let model = try Self.writeModel(to: dir)
        let tokenizer = try PretrainedTokenizer.load(directory: dir)
        let eos = tokenizer.endOfTextId
        let prompt = TokenBatch.leftPadded([[eos] + tokenizer.encode("ab")], padToken: tokenizer.padId)
        // What `pipe sample -n 1` draws with its default seed 0, without stopping.
        let tokens = Array(model.generate(prompts: prompt, options: SamplingOptions(maxNewTokens: 8, padTokenID: tokenizer.padId)).row(0))
        try #require(tokens.count == 8 && !tokens.contains(eos), "\(tokens): the row must run its 8 tokens without <|endoftext|>")
        // The first token that did not come up before: a row whose EOS ids include it ends there.
        let at = try #require((1..<8).first { !tokens[..<$0].contains(tokens[$0]) }, "\(tokens)")
        let stop = tokens[at]
        func sample(_ extra: [String] = []) throws -> PipeBinary.Result {
            try pipe.run(["sample", dir, "-p", "ab", "-n", "1", "--max-new-tokens", "8"] + extra, in: workspace.root)
        }
        let before = try sample()
        #expect(before.stdout.contains("[8 tokens"), "no generation_config.json: only <|endoftext|> ends a row; \(before)")

        try workspace.write("model/generation_config.json", "{\"eos_token_id\": [300, \(stop)], \"max_length\": 20}")
        let listed = try sample()
        #expect(listed.status == 0 && listed.stdout.contains("[\(at + 1) tokens"), "\(listed)")
        #expect(listed.stderr == "warning: \(dir)/generation_config.json: eos_token_id 300 is outside the model's vocabulary (vocab_size 257); ignoring it\n", "\(listed)")

        // Beam search (one beam: greedy decoding) stops at them too.
        let greedy = model.generate(prompts: prompt, options: SamplingOptions(maxNewTokens: 8, greedy: true)).row(0)
        try workspace.write("model/generation_config.json", "{\"eos_token_id\": [\(eos), \(greedy.first!)]}")
        let beams = try pipe.run(["sample", dir, "-p", "ab", "--num-beams", "1", "--max-new-tokens", "8"], in: workspace.root)
        #expect(beams.status == 0 && beams.stdout.contains("[1 tokens"), "\(beams)")

        try workspace.write("model/generation_config.json", "{\"eos_token_id\": \(stop)}")
        let single = try sample()
        #expect(single.status == 0 && single.stdout.contains("[\(at + 1) tokens") && single.stderr.isEmpty, "\(single)")
        #expect(try sample(["--no-stop"]).stdout.contains("[8 tokens"))
        let chosen = try sample(["--eos-token-id", "\(tokens[0])"])
        #expect(chosen.stdout.contains("[1 tokens"), "\(chosen)")
        let outside = try sample(["--eos-token-id", "999"])
        #expect(outside.status == 2 && outside.stderr == "error: --eos-token-id 999 is outside the model's vocabulary (vocab_size 257 in config.json)\n", "\(outside)")

        try workspace.write("model/generation_config.json", "{\"eos_token_id\": \"</s>\"}")
        let bad = try sample()
        #expect(bad.status == 2 && bad.stderr == "error: \(dir)/generation_config.json: eos_token_id must be an integer or a list of integers, got \"</s>\"\n", "\(bad)")
    }

    /// `--num-beams N --length-penalty X` prints the N best hypotheses of beam search, best first, as the
    /// library's beam search finds them; one beam is greedy decoding; sampling flags are refused with beams.
    @Test func beamSearchPrintsTheBestHypotheses() throws {
        let workspace = try TestWorkspace("pipe-e2e-sample-beam")
        defer { workspace.remove() }
        let dir = workspace.path("model")
        let model = try Self.writeModel(to: dir)
        let tokenizer = try PretrainedTokenizer.load(directory: dir)
        let result = try pipe.run(["sample", dir, "-p", "ab", "-p", "c", "--num-beams", "3", "-n", "2", "--length-penalty", "0.5",
                                   "--max-new-tokens", "6"], in: workspace.root)
        #expect(result.status == 0, "\(result)")
        let eos = tokenizer.endOfTextId
        let prompts = ["ab", "c"]
        let expected = model.beamSearch(prompts: prompts.map { [eos] + tokenizer.encode($0, allowSpecial: false) }, options: BeamSearchOptions(
            maxNewTokens: 6, numBeams: 3, lengthPenalty: 0.5, numReturnSequences: 2, eosTokenID: eos))
        var lines = ""
        for (i, text) in prompts.enumerated() {
            lines += text + "\n"
            for (k, h) in expected.hypotheses[i].enumerated() {
                #expect(h.score == h.logProb / Float(pow(Double(h.tokens.count), 0.5)))
                lines += "  \(k + 1). \(text)\(tokenizer.decode(h.tokens, skipSpecial: true))   "
                    + "[\(h.tokens.count) tokens, log p \(String(format: "%.1f", h.logProb)), score \(String(format: "%.3f", h.score))]\n"
            }
            #expect(expected.hypotheses[i][0].score >= expected.hypotheses[i][1].score)
        }
        #expect(result.stdout == lines)

        // One beam: the greedy answer.
        let one = try pipe.run(["sample", dir, "-p", "ab", "--num-beams", "1", "--max-new-tokens", "6"], in: workspace.root)
        let greedy = try pipe.run(["sample", dir, "-p", "ab", "-n", "1", "--greedy", "--max-new-tokens", "6"], in: workspace.root)
        func answer(_ r: PipeBinary.Result) -> Substring? { r.stdout.split(separator: "\n").dropFirst().first?.split(separator: "[").first }
        #expect(one.status == 0 && greedy.status == 0 && answer(one) != nil && answer(one) == answer(greedy), "\(one.stdout) vs \(greedy.stdout)")

        for (arguments, message) in [
            (["--num-beams", "2", "--top-k", "5"], "--top-k is a sampling option; beam search (--num-beams) does not sample"),
            (["--num-beams", "2", "-n", "3"], "-n 3 asks for more hypotheses than --num-beams 2 keeps"),
            (["--length-penalty", "2"], "--length-penalty and --early-stopping apply to beam search only; add --num-beams N"),
            (["--num-beams", "2", "--early-stopping", "sometimes"], "--early-stopping must be false, true or never"),
            (["--num-beams", "0"], "--num-beams must be at least 1"),
        ] {
            let bad = try pipe.run(["sample", dir, "-p", "ab"] + arguments, in: workspace.root)
            #expect(bad.status != 0 && bad.stderr.contains(message), "\(arguments): \(bad)")
        }
        let tooMany = try pipe.run(["sample", dir, "-p", "ab", "--num-beams", "300"], in: workspace.root)
        #expect(tooMany.status == 2 && tooMany.stderr == "error: --num-beams 300 exceeds the model's vocabulary (vocab_size 257 in config.json)\n", "\(tooMany)")
    }

    @Test func everyModelErrorIsOneLineWithoutUsage() throws {
        let workspace = try TestWorkspace("pipe-e2e-sample-bad")
        defer { workspace.remove() }
        let dir = workspace.path("model")
        func expectOneLine(_ contains: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let start = ContinuousClock.now
            let result = try sample(dir, in: workspace)
            #expect(result.status == 2, "\(result)", sourceLocation: sourceLocation)
            #expect(result.stderr.hasPrefix("error: ") && result.stderr.hasSuffix("\n"), "\(result)", sourceLocation: sourceLocation)
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result)", sourceLocation: sourceLocation)
            #expect(result.stderr.contains(contains), "\(result)", sourceLocation: sourceLocation)
            #expect(!result.stderr.contains("Usage") && !result.stdout.contains("Usage"), "\(result)", sourceLocation: sourceLocation)
            #expect(ContinuousClock.now - start < .seconds(20), sourceLocation: sourceLocation)
        }
        func setConfig(_ key: String, _ value: String) throws {
            let path = dir + "/config.json"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let edited = text.replacingOccurrences(of: "\"\(key)\": [^,\\n]*", with: "\"\(key)\": \(value)", options: .regularExpression)
            try edited.write(toFile: path, atomically: true, encoding: .utf8)
        }
        _ = try Self.writeModel(to: dir)
        try setConfig("n_embd", "1048576")
        try expectOneLine("model.safetensors: tensor 'transformer.wte.weight' has shape [257, 16], but config.json")
        try setConfig("n_embd", "2048")
        try expectOneLine("needs [257, 2048] — the config does not describe these weights")
        try setConfig("n_embd", "16")
        try setConfig("n_layer", "1000000")
        try expectOneLine("config.json says n_layer 1000000, but the file stores")
        try setConfig("n_layer", "2")
        try setConfig("activation_function", "\"xielu\"")
        try expectOneLine("config.json: activation_function xielu is not supported")
        try setConfig("activation_function", "\"gelu_new\"")
        try workspace.write("model/model.safetensors", "short")
        try expectOneLine("model.safetensors: invalid safetensors file:")
        try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
        try workspace.write("model/pytorch_model.bin", "pickle")
        try expectOneLine("pytorch_model.bin: not a PyTorch checkpoint (torch.save writes a zip archive, starting with 'PK', or before PyTorch 1.6 a pickle of its magic number; this file is 6 bytes and starts otherwise)")
        try FileManager.default.removeItem(atPath: dir)
        try expectOneLine("model: not a directory")
        // A model whose vocabulary is smaller than its tokenizer's.
        _ = try Self.writeModel(to: dir, vocabulary: 200)
        try expectOneLine("token id 256 is outside the model's vocabulary (vocab_size 200 in config.json)")
        try FileManager.default.removeItem(atPath: dir + "/tokenizer.json")
        try expectOneLine("tokenizer.json")
    }
}
