import Foundation
import Testing
import Tensor
@testable import Models

/// Hugging Face GPT-2 folders as other tools write them, and malformed ones.
@Suite("HF GPT-2 folders")
struct HFCheckpointTests {
    static let dtypes: [SafetensorsDType] = [.f32, .f16, .bf16, .f64]

    /// Every dtype × single or sharded × with or without the prefix, with extra buffers, an lm_head copy
    /// and a generation_config.json: the parameters arrive exactly (rounded through the dtype).
    @Test(arguments: dtypes, [1, 3])
    func loadsEveryLayout(dtype: SafetensorsDType, shards: Int) throws {
        for prefix in [true, false] {
            let dir = temporaryDirectory("hf-\(dtype.rawValue)-\(shards)")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let model = try GPTModel(config: tinyConfig(), seed: 21)
            let folder = HFFolder(dtype: dtype, shards: shards, prefix: prefix, lmHeadCopy: true, extraTensors: true, generationConfig: true)
            try folder.write(model, to: dir)
            let loaded = try GPTModel.load(from: dir)
            #expect(loaded.config == model.config, "\(dtype) shards \(shards) prefix \(prefix)")
            #expect(loaded.parameters.array == HFFolder.expectedParameters(model, dtype: dtype), "\(dtype) shards \(shards) prefix \(prefix)")
        }
    }

    /// Every activation_function transformers' GPT-2 computes and pipe implements loads as that activation
    /// (aliases as the same function), changes the logits, and is written back under its own name.
    @Test func activationFunctions() throws {
        let dir = temporaryDirectory("hf-activations")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try GPTModel(config: tinyConfig(), seed: 24)
        let expected: [(String, GPTConfig.Activation)] = [
            ("gelu_new", .geluTanh), ("gelu_pytorch_tanh", .geluTanh), ("gelu_fast", .geluTanh), ("gelu_accurate", .geluTanh),
            ("gelu", .geluExact), ("gelu_python", .geluExact), ("relu", .relu), ("silu", .silu), ("swish", .silu), ("quick_gelu", .quickGelu),
        ]
        let batch = TokenBatch(tokens: [1, 5, 2, 7, 3, 3], batch: 2, time: 3)
        var logitsByActivation: [GPTConfig.Activation: [Float]] = [:]
        for (name, activation) in expected {
            try HFFolder().write(model, to: dir)
            try editConfig(dir, ["activation_function": "\"\(name)\""])
            let loaded = try GPTModel.load(from: dir)
            #expect(loaded.config.activation == activation, "\(name)")
            loaded.forward(batch)
            let logits = Array(loaded.logits)
            if let earlier = logitsByActivation[activation] { #expect(logits == earlier, "\(name)") }
            logitsByActivation[activation] = logits
            try loaded.save(to: dir)
            #expect(try String(contentsOfFile: dir + "/config.json", encoding: .utf8).contains("\"activation_function\": \"\(activation.rawValue)\""))
        }
        #expect(Set(logitsByActivation.values).count == 5, "each activation gives its own logits")
    }

    /// n_inner other than 4 × n_embd: the MLP is that wide, in the file, the logits, training and sampling;
    /// config.json keeps it. n_inner equal to 4 × n_embd is GPT-2's default (written back as null).
    @Test func mlpWidthOfNInner() throws {
        let dir = temporaryDirectory("hf-inner")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = tinyConfig()
        config.innerChannels = 20
        let model = try GPTModel(config: config, seed: 26)
        #expect(model.layout.tensor(named: "transformer.h.1.mlp.c_proj.weight")?.shape == [20, 8])
        #expect(model.parameters.count == Int(config.estimatedParameterCount))
        try HFFolder(shards: 2).write(model, to: dir)
        #expect(try String(contentsOfFile: dir + "/config.json", encoding: .utf8).contains("\"n_inner\": 20"))
        let loaded = try GPTModel.load(from: dir)
        #expect(loaded.config.mlpChannels == 20 && loaded.parameters.array == model.parameters.array)
        // The batch forward and the KV-cache decoder agree on the narrower MLP: greedy picks the argmax
        // of the full forward's last logits, with its log-probability.
        let prompt: [Int32] = [1, 5, 2, 7]
        loaded.forward(TokenBatch(tokens: prompt, batch: 1, time: 4))
        let last = Array(loaded.logits[(3 * 13)..<(4 * 13)])
        let best = last.indices.max { last[$0] < last[$1] }!
        let logSum = log(last.map { exp(Double($0 - last[best])) }.reduce(0, +))
        let generation = loaded.generate(prompts: TokenBatch(tokens: prompt, batch: 1, time: 4),
                                         options: SamplingOptions(maxNewTokens: 1, greedy: true))
        #expect(generation.tokens == [Int32(best)] && abs(Double(generation.logProbs[0]) + logSum) < 1e-4)
        try editConfig(dir, ["n_inner": "32"])
        try #require(throws: CheckpointError.self) { try GPTModel.load(from: dir) }  // the file's MLP is 20 wide
        var standard = try GPTModel(config: tinyConfig(), seed: 27)
        try HFFolder().write(standard, to: dir)
        try editConfig(dir, ["n_inner": "32"])
        standard = try GPTModel.load(from: dir)
        #expect(standard.config == tinyConfig() && standard.config.innerChannels == nil)
    }

    /// scale_attn_weights false (scores not divided by √head_size) and scale_attn_by_inverse_layer_idx
    /// (divided by layer + 1): each changes the logits as transformers' GPT2Attention does, in the batch
    /// forward and the KV-cache decoder alike, and config.json keeps it.
    @Test func attentionScaling() throws {
        let dir = temporaryDirectory("hf-attention-scale")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try GPTModel(config: tinyConfig(), seed: 28)
        let prompt: [Int32] = [1, 5, 2, 7]
        var lastLogits: [[Float]] = []
        for (weights, inverse) in [(true, false), (false, false), (true, true), (false, true)] {
            try HFFolder().write(model, to: dir)
            try editConfig(dir, ["scale_attn_weights": "\(weights)", "scale_attn_by_inverse_layer_idx": "\(inverse)"])
            let loaded = try GPTModel.load(from: dir)
            #expect(loaded.config.attentionScale(layer: 1) == (weights ? 1 / Float(4).squareRoot() : 1) / (inverse ? 2 : 1))
            loaded.forward(TokenBatch(tokens: prompt, batch: 1, time: 4))
            let last = Array(loaded.logits[(3 * 13)..<(4 * 13)])
            lastLogits.append(last)
            let best = last.indices.max { last[$0] < last[$1] }!
            let logSum = log(last.map { exp(Double($0 - last[best])) }.reduce(0, +))
            let generation = loaded.generate(prompts: TokenBatch(tokens: prompt, batch: 1, time: 4),
                                             options: SamplingOptions(maxNewTokens: 1, greedy: true))
            #expect(generation.tokens == [Int32(best)] && abs(Double(generation.logProbs[0]) + logSum) < 1e-4)
            try loaded.save(to: dir)
            let text = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
            #expect(text.contains("\"scale_attn_weights\": \(weights)") && text.contains("\"scale_attn_by_inverse_layer_idx\": \(inverse)"))
        }
        #expect(Set(lastLogits.map { $0.map(\.bitPattern) }).count == 4, "each setting gives its own logits")
    }

    /// GPT2ForSequenceClassification with two labels (score.weight [2, C]): as a language model it loads
    /// without the classifier, as transformers' GPT2LMHeadModel does; as a reward model it is refused.
    @Test func classifierWithSeveralLabels() throws {
        let dir = temporaryDirectory("hf-classifier")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try GPTModel(config: tinyConfig(), seed: 25)
        try model.save(to: dir)
        let c = model.config.channels
        let score = SafetensorsTensor(name: "score.weight", shape: [2, c], floats: (0..<(2 * c)).map { Float($0) / 10 })
        try Safetensors.write(HFFolder().tensors(model) + [score], to: dir + "/model.safetensors")
        let loaded = try GPTModel.load(from: dir)
        #expect(!loaded.config.rewardHead && loaded.parameters.array == model.parameters.array)
        #expect { try GPTModel.load(from: dir, rewardHead: true) } throws: {
            "\($0)" == "\(dir)/model.safetensors: tensor 'score.weight' has 2 rows: a sequence classifier with num_labels 2, not a scalar "
                + "reward model (num_labels 1); start the reward model from the language model, or save the classifier with num_labels 1"
        }
    }

    /// An lm_head that differs from wte is its own head (config flag or not); one equal to wte stays tied.
    @Test func untiedLMHead() throws {
        let dir = temporaryDirectory("hf-untied")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = tinyConfig()
        config.tieWordEmbeddings = false
        let model = try GPTModel(config: config, seed: 22)
        #expect(model.layout.tensor(named: "lm_head.weight") != nil && model.layout.lmHead != model.layout.tokenEmbedding)
        try HFFolder(shards: 2).write(model, to: dir)
        #expect(try String(contentsOfFile: dir + "/config.json", encoding: .utf8).contains("\"tie_word_embeddings\": false"))
        let loaded = try GPTModel.load(from: dir)
        #expect(!loaded.config.tieWordEmbeddings && loaded.parameters.array == model.parameters.array)

        // The logits use lm_head, not wte.
        let batch = TokenBatch(tokens: [1, 5, 2, 7, 3, 3], batch: 2, time: 3)
        loaded.forward(batch)
        let v = config.vocabSize, c = config.channels
        let head = loaded.parameter("lm_head.weight")!
        for row in 0..<6 {
            for j in [0, 4, 12] {
                var dot: Float = 0
                for k in 0..<c { dot += loaded.hiddenStates[row * c + k] * head[j * c + k] }
                #expect(abs(loaded.logits[row * v + j] - dot) < 1e-5)
            }
        }

        // config.json says tied (the default) but the stored lm_head differs: kept untied.
        try editConfig(dir, ["tie_word_embeddings": "true"])
        #expect(try !GPTModel.load(from: dir).config.tieWordEmbeddings)
        // A tied model whose file stores lm_head equal to wte stays tied.
        let tied = try GPTModel(config: tinyConfig(), seed: 23)
        try HFFolder(lmHeadCopy: true).write(tied, to: dir)
        #expect(try GPTModel.load(from: dir).config.tieWordEmbeddings)
        // A tied model stored with lm_head.weight and no wte: wte comes from lm_head.
        let tensors = HFFolder(lmHeadCopy: true).tensors(tied).filter { $0.name != "transformer.wte.weight" }
        try Safetensors.write(tensors, to: dir + "/model.safetensors")
        #expect(try GPTModel.load(from: dir).parameters.array == tied.parameters.array)
    }

    /// The untied head's gradient (forward and backward through lm_head, wte through the embedding only).
    @Test func untiedHeadGradient() throws {
        var config = tinyConfig(valueHead: true)
        config.tieWordEmbeddings = false
        config.activation = .geluExact
        let model = try GPTModel(config: config, seed: 24)
        let b = 2, t = 5, v = config.vocabSize
        let batch = TokenBatch(tokens: randomTokens(b * t, vocab: v, seed: 1), batch: b, time: t)
        let wL = randomFloats(b * t * v, seed: 2), wV = randomFloats(b * t, seed: 3)
        func loss() -> Double {
            model.forward(batch)
            return weightedSum(UnsafeBufferPointer(model.logits), wL) + weightedSum(model.values, wV)
        }
        _ = loss()
        model.zeroGradients()
        wL.withUnsafeBufferPointer { l in wV.withUnsafeBufferPointer { model.backward(dLogits: l.baseAddress, dValues: $0.baseAddress) } }
        let (error, tensor) = worstParameterGradientError(model: model, loss: loss)
        #expect(error < 3e-3, "worst relative error \(error) in \(tensor)")
        // SFT's fused cross-entropy path (dLogits in the logits buffer, live-row compaction) too.
        let targets = randomTokens(b * t, vocab: v, seed: 4), mask: [Float] = [0, 0, 1, 1, 1, 0, 0, 0, 1, 1]
        func ce() -> Double {
            model.forward(batch)
            return Double(model.crossEntropy(targets: targets, lossMask: mask, computeGradient: false))
        }
        _ = ce()
        model.zeroGradients()
        _ = model.crossEntropy(targets: targets, lossMask: mask)
        model.backward(dLogits: model.logits.baseAddress)
        let (ceError, ceTensor) = worstParameterGradientError(model: model, loss: ce)
        #expect(ceError < 3e-3, "cross-entropy: worst relative error \(ceError) in \(ceTensor)")
    }

    /// The KV-cached decode step uses the untied head and the configured GELU like the full forward.
    @Test(arguments: [false, true])
    func decodeWithUntiedHeadMatchesFullForward(exactGELU: Bool) throws {
        var config = DecodeStepTests.config()
        config.tieWordEmbeddings = false
        if exactGELU { config.activation = .geluExact }
        let model = try GPTModel(config: config, seed: 25)
        let steps = 6, v = config.vocabSize
        let (generation, cached) = DecodeStepTests.greedy(model, path: DecodeStepTests.paths[0], steps: steps)
        let sequences = DecodeStepTests.prompts.enumerated().map { b, prompt in prompt + generation.row(b).prefix(steps - 1) }
        let batch = TokenBatch.leftPadded(sequences, padToken: 0)
        model.forward(batch)
        var worst: Float = 0
        for b in 0..<sequences.count {
            for j in 0..<v {
                let full = model.logits[(b * batch.time + batch.time - 1) * v + j]
                worst = max(worst, abs(cached[b * v + j] - full) / max(1, abs(full)))
            }
        }
        #expect(worst < 1e-5)
    }

    /// HF config variants that load: gelu (exact), ids outside the vocabulary, n_positions above 1,024,
    /// n_ctx instead of n_positions, hidden_size-style aliases.
    @Test func acceptedConfigVariants() throws {
        let dir = temporaryDirectory("hf-variants")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = GPTConfig(vocabSize: 11, maxPositions: 1500, channels: 8, layers: 1, heads: 2)
        config.activation = .geluExact
        let model = try GPTModel(config: config, seed: 26)
        try HFFolder().write(model, to: dir)
        try editConfig(dir, ["eos_token_id": "50256", "bos_token_id": "[50256, 3]", "pad_token_id": "null"])
        var loaded = try GPTModel.load(from: dir)
        #expect(loaded.config.activation == .geluExact && loaded.config.maxPositions == 1500)
        #expect(loaded.config.eosTokenID == 50256 && loaded.config.bosTokenID == 50256 && loaded.config.padTokenID == nil)
        try "{\"model_type\": \"gpt2\", \"vocab_size\": 11, \"n_ctx\": 1500, \"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"activation_function\": \"gelu_python\", \"n_inner\": 32}"
            .write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        loaded = try GPTModel.load(from: dir)
        #expect(loaded.parameters.array == model.parameters.array && loaded.config.activation == .geluExact)
    }

    /// Each malformed config or weight folder gives its exact message, quickly and without allocating.
    @Test func malformedFoldersGiveExactMessages() throws {
        let dir = temporaryDirectory("hf-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try GPTModel(config: tinyConfig(), seed: 27)
        let config = dir + "/config.json", weights = dir + "/model.safetensors"
        func expectError(_ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let start = ContinuousClock.now
            do {
                _ = try GPTModel.load(from: dir)
                Issue.record("loaded, expected: \(expected)", sourceLocation: sourceLocation)
            } catch {
                #expect("\(error)" == expected, sourceLocation: sourceLocation)
            }
            #expect(ContinuousClock.now - start < .seconds(2), "slow error (allocated?)", sourceLocation: sourceLocation)
        }
        func reset() throws { try HFFolder().write(model, to: dir) }

        let dims = "vocab_size 13, n_positions 12"
        try reset()
        try editConfig(dir, ["n_embd": "1048576"])
        expectError("\(weights): tensor 'transformer.wte.weight' has shape [13, 8], but config.json (\(dims), n_embd 1048576, n_layer 2) needs [13, 1048576] — the config does not describe these weights")
        try editConfig(dir, ["n_embd": "16"])
        expectError("\(weights): tensor 'transformer.wte.weight' has shape [13, 8], but config.json (\(dims), n_embd 16, n_layer 2) needs [13, 16] — the config does not describe these weights")
        try editConfig(dir, ["n_embd": "16777216", "n_layer": "16777216"])
        expectError("\(config): invalid GPT config: n_embd 16777216 with vocab_size 13, n_positions 12 and n_layer 16777216 means 5.666840145361089e+22 parameters, far beyond any machine's memory")
        try editConfig(dir, ["n_embd": "8", "n_layer": "2", "vocab_size": "99999999999"])
        expectError("\(config): invalid GPT config: vocab_size 99999999999 is beyond the supported 16777216")
        try editConfig(dir, ["vocab_size": "13"])
        try reset()
        try editConfig(dir, ["n_layer": "3"])
        expectError("\(weights): config.json says n_layer 3, but the file stores 2 layers (none of layer 2's tensors, e.g. 'transformer.h.2.ln_1.weight') — the config does not describe these weights")
        // Found before a million layers' tensors are listed (that took minutes and gigabytes).
        try editConfig(dir, ["n_layer": "1000000"])
        expectError("\(weights): config.json says n_layer 1000000, but the file stores 2 layers (none of layer 2's tensors, e.g. 'transformer.h.2.ln_1.weight') — the config does not describe these weights")
        try editConfig(dir, ["n_layer": "1"])
        expectError("\(weights): tensor 'transformer.h.1.attn.c_attn.bias' belongs to layer 1, but config.json says n_layer 1 — the config does not describe these weights")
        try editConfig(dir, ["n_layer": "2", "tie_word_embeddings": "false"])
        expectError("\(weights): missing tensor 'lm_head.weight [13, 8]' required by config.json (\(dims), n_embd 8, n_layer 2) (config.json sets tie_word_embeddings false, so lm_head.weight is needed)")
        try editConfig(dir, ["tie_word_embeddings": "1"])
        expectError("\(config): field 'tie_word_embeddings' must be true or false, got 1")
        try reset()
        try editConfig(dir, ["activation_function": "\"gelu_11\""])
        expectError("\(config): activation_function gelu_11 is not supported (use gelu_new, gelu_pytorch_tanh, gelu_python_tanh, gelu_fast, "
            + "gelu_accurate, gelu, gelu_python, gelu_10, relu, relu6, relu2, leaky_relu, silu, swish, quick_gelu, hardswish, mish, sigmoid, "
            + "tanh, linear, laplace or sqrtsoftplus)")
        try editConfig(dir, ["activation_function": "\"prelu\""])
        expectError("\(config): activation_function prelu is not supported (an activation with learned parameters of its own, which pipe "
            + "neither loads nor trains)")
        try editConfig(dir, ["activation_function": "\"gelu_new\"", "model_type": "\"llama\""])
        expectError("\(config): model_type llama is not a GPT-2 (pipe loads model_type \"gpt2\")")
        try editConfig(dir, ["model_type": "\"gpt2\"", "n_layer": "true"])
        expectError("\(config): field 'n_layer' must be an integer, got true")
        try editConfig(dir, ["n_layer": "2", "n_head": "3"])
        expectError("\(config): invalid GPT config: n_embd must be a positive multiple of n_head (3), got 8")
        try editConfig(dir, ["n_head": "2", "n_inner": "64"])
        expectError("\(weights): tensor 'transformer.h.0.mlp.c_fc.weight' has shape [8, 32], but config.json (\(dims), n_embd 8, n_layer 2, n_inner 64) needs [8, 64] — the config does not describe these weights")
        try editConfig(dir, ["n_inner": "0"])
        expectError("\(config): invalid GPT config: n_inner must be null or in 1...67108864, got 0")
        try editConfig(dir, ["n_inner": "2.5"])
        expectError("\(config): field 'n_inner' must be an integer or null, got 2.5")
        try editConfig(dir, ["n_inner": "null", "add_cross_attention": "true"])
        expectError("\(config): add_cross_attention true is not supported (decoder-only GPT-2 only)")
        try editConfig(dir, ["add_cross_attention": "false", "scale_attn_weights": "0"])
        expectError("\(config): field 'scale_attn_weights' must be true or false, got 0")
        try "{\"vocab_size\": 13,".write(toFile: config, atomically: true, encoding: .utf8)
        #expect { try GPTModel.load(from: dir) } throws: { "\($0)".hasPrefix("\(config): not valid JSON") }
        try "[1, 2]".write(toFile: config, atomically: true, encoding: .utf8)
        expectError("\(config): top level is not a JSON object")
        try "{\"vocab_size\": 13}".write(toFile: config, atomically: true, encoding: .utf8)
        expectError("\(config): missing field 'n_positions' (GPT-2 config.json needs vocab_size, n_positions, n_embd, n_layer, n_head)")
        try FileManager.default.removeItem(atPath: config)
        expectError("\(config): cannot read (is this a checkpoint directory?)")

        // Weights: integer dtype, a tensor stored twice, header damage, no safetensors at all.
        try reset()
        var tensors = HFFolder().tensors(model)
        tensors[0] = SafetensorsTensor(name: tensors[0].name, shape: tensors[0].shape, int32s: [Int32](repeating: 1, count: 13 * 8))
        try Safetensors.write(tensors, to: weights)
        expectError("\(weights): tensor 'transformer.wte.weight' is I32; model weights must be F32, F16, BF16 or F64")
        tensors = HFFolder().tensors(model) + [SafetensorsTensor(name: "ln_f.bias", shape: [8], floats: [Float](repeating: 0, count: 8))]
        try Safetensors.write(tensors, to: weights)
        expectError("\(dir)/model.safetensors: tensor 'transformer.ln_f.bias' is stored twice ('ln_f.bias' in \(weights) and 'transformer.ln_f.bias' in \(weights))")
        var bytes = try #require(FileManager.default.contents(atPath: weights))
        bytes[8] = UInt8(ascii: "[")
        try bytes.write(to: URL(fileURLWithPath: weights))
        expectError("\(weights): invalid safetensors file: header JSON at byte 8: header does not start with '{'")
        try FileManager.default.removeItem(atPath: weights)
        try Data("not really".utf8).write(to: URL(fileURLWithPath: dir + "/pytorch_model.bin"))
        expectError("\(dir)/pytorch_model.bin: not a PyTorch checkpoint (torch.save writes a zip archive, starting with 'PK', or before PyTorch 1.6 a pickle of its magic number; this file is 10 bytes and starts otherwise)")
        try FileManager.default.removeItem(atPath: dir + "/pytorch_model.bin")
        expectError("\(weights): not found (a GPT-2 checkpoint directory holds config.json and model.safetensors or model.safetensors.index.json "
            + "with its shards, or pytorch_model.bin or pytorch_model.bin.index.json with its shards)")
        #expect { try GPTModel.load(from: dir + "/nope") } throws: {
            "\($0)" == "\(dir)/nope: not a directory (expected a model folder with config.json and model.safetensors)"
        }
    }

    /// Broken shard indexes: a path outside the folder, a missing shard, a tensor not where the map says.
    @Test func malformedShardIndexes() throws {
        let dir = temporaryDirectory("hf-shards")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try GPTModel(config: tinyConfig(), seed: 28)
        try HFFolder(shards: 2).write(model, to: dir)
        let index = dir + "/model.safetensors.index.json"
        let original = try String(contentsOfFile: index, encoding: .utf8)
        func expectError(_ text: String, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try text.write(toFile: index, atomically: true, encoding: .utf8)
            #expect { try GPTModel.load(from: dir) } throws: { "\($0)" == expected }
        }
        try expectError(original.replacingOccurrences(of: "\"transformer.wte.weight\": \"model-00001-of-00002.safetensors\"",
                                                      with: "\"transformer.wte.weight\": \"../model-00001-of-00002.safetensors\""),
                        "\(index): weight_map[\"transformer.wte.weight\"] must be a file name in the same directory, got ../model-00001-of-00002.safetensors")
        try expectError(original.replacingOccurrences(of: "-of-00002", with: "-of-00003"),
                        "\(index): shard 'model-00001-of-00003.safetensors' (holding transformer.h.0.attn.c_attn.weight …) not found in \(dir)")
        try expectError(original.replacingOccurrences(of: "\"transformer.wte.weight\": \"model-00001-of-00002.safetensors\"",
                                                      with: "\"transformer.wte.weight\": \"model-00002-of-00002.safetensors\""),
                        "\(index): weight_map puts 'transformer.wte.weight' in model-00002-of-00002.safetensors, which has no such tensor")
        try expectError("{\"weight_map\": {}}", "\(index): missing or empty \"weight_map\" (tensor name → shard file)")
        try expectError("{\"weight_map\": {\n  \"a\": \"x.safetensors\",\n}}", "\(index): not valid JSON: line 3, column 1: expected a quoted key, found '}'")
        try expectError("{\"weight_map\": {\"a\": 5}}", "\(index): weight_map[\"a\"] must be a file name in the same directory, got 5")
        try original.write(toFile: index, atomically: true, encoding: .utf8)
        #expect(try GPTModel.load(from: dir).parameters.array == model.parameters.array)
    }

    /// A model whose weights and gradients exceed the machine's memory is refused before allocating:
    /// the weights are a sparse file whose shapes all match the config.
    @Test func modelLargerThanMemoryIsRefused() throws {
        let dir = temporaryDirectory("hf-huge")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let c = 1 << 16
        var config = GPTConfig(vocabSize: 8, maxPositions: 8, channels: c, layers: 2, heads: 1)
        config.eosTokenID = nil
        try Data(HFConfigJSON.encode(config).utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        // Header for every tensor of the layout (F16), data section left as a hole.
        let layout = ParameterLayout(config)
        var entries: [String] = [], offset = 0
        for t in layout.tensors {
            entries.append("\"\(t.name)\":{\"dtype\":\"F16\",\"shape\":\(t.shape),\"data_offsets\":[\(offset),\(offset + 2 * t.count)]}")
            offset += 2 * t.count
        }
        let header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        let path = dir + "/model.safetensors"
        try Data(withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header).write(to: URL(fileURLWithPath: path))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(8 + header.count + offset))
        try handle.close()
        let start = ContinuousClock.now
        #expect { try GPTModel.load(from: dir) } throws: { error in
            "\(error)".hasPrefix("\(dir)/config.json: invalid GPT config: n_embd 65536 with vocab_size 8, n_positions 8 and n_layer 2 needs 824.7 GB for weights and gradients, more than the ")
                && "\(error)".hasSuffix(" GB of memory available")
        }
        #expect(ContinuousClock.now - start < .seconds(2))
    }
}
