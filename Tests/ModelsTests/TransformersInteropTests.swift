import Foundation
import Testing
import Tensor
@testable import Models

/// Round trips through Hugging Face transformers, when $PIPE_TORCH_PYTHON names a Python with torch and
/// transformers (e.g. a venv made by `pip install torch transformers`); skipped otherwise.
@Suite("transformers interoperability")
struct TransformersInteropTests {
    static let python = ProcessInfo.processInfo.environment["PIPE_TORCH_PYTHON"]
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("transformers_interop.py").path

    func runPython(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python!)
        p.arguments = [Self.script] + arguments
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "transformers_interop.py \(arguments.first ?? "") failed")
    }

    func transformersOutputs(_ dir: String, _ batch: TokenBatch) throws -> [Float] {
        let request: [String: [[Int32]]] = [
            "tokens": (0..<batch.batch).map { Array(batch.tokens[$0 * batch.time ..< ($0 + 1) * batch.time]) },
            "mask": (0..<batch.batch).map { Array(batch.attentionMask![$0 * batch.time ..< ($0 + 1) * batch.time]) },
        ]
        try JSONEncoder().encode(request).write(to: URL(fileURLWithPath: dir + "/input.json"))
        try runPython(["logits", dir, dir + "/input.json", dir + "/out.bin"])
        let bytes = try #require(FileManager.default.contents(atPath: dir + "/out.bin"))
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// Also with an untied LM head and the exact GELU (a model loaded from such a folder exports as one).
    @Test(.enabled(if: python != nil, "set PIPE_TORCH_PYTHON to a Python with torch + transformers to run"),
          arguments: [false, true])
    func ourCheckpointLoadsInTransformers(untiedExactGELU: Bool) throws {
        let dir = temporaryDirectory("to-hf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = GPTConfig(vocabSize: 31, maxPositions: 16, channels: 12, layers: 2, heads: 3, valueHead: true, rewardHead: true)
        config.initializerRange = 0.2
        if untiedExactGELU {
            config.tieWordEmbeddings = false
            config.activation = .geluExact
        }
        let model = try GPTModel(config: config, seed: 5)
        for t in model.layout.tensors where t.count == 12 || t.name.hasSuffix(".bias") {  // non-trivial gains and biases
            Philox(seed: 9).fillNormal(model.parameters.pointer + t.offset, count: t.count, mean: 0.5, std: 0.3, stream: UInt64(t.offset))
        }
        try model.save(to: dir)
        let batch = TokenBatch.leftPadded([[3, 1, 4, 1, 5, 9], [2, 6, 5]], padToken: 0)
        model.forward(batch)
        let reference = try transformersOutputs(dir, batch)
        let mask = batch.attentionMask!
        // Compare real positions only (transformers' padded rows attend differently; they are masked anyway).
        var ours: [Float] = [], theirs: [Float] = []
        let v = config.vocabSize, n = batch.batch * batch.time
        for i in 0..<n where mask[i] != 0 {
            ours += model.logits[i * v ..< (i + 1) * v]
            theirs += reference[i * v ..< (i + 1) * v]
        }
        for i in 0..<n where mask[i] != 0 {
            ours.append(model.values[i])
            theirs.append(reference[n * v + i])
        }
        ours += Array(model.rewards)
        theirs += reference[(n * v + n)...]
        try #require(reference.count == n * v + n + batch.batch)
        #expect(maxDifference(ours, theirs) < 1e-4)
    }

    static let convertScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/convert-to-safetensors.py").standardized.path

    /// Folders `save_pretrained` writes — tied, untied, sharded (several shards + index.json), F16, BF16,
    /// exact gelu, relu, silu, quick_gelu, n_inner other than 4 × n_embd, scale_attn_by_inverse_layer_idx,
    /// scale_attn_weights false, pytorch_model.bin-only folders (F32 tied, F16, untied, two .bin shards, UER-py's
    /// layout with transposed views) read
    /// directly, and one converted by scripts/convert-to-safetensors.py —
    /// load here and give transformers' logits within 1e-4 (half-precision weights: within rounding of
    /// the same F32 computation on the rounded weights).
    @Test(.enabled(if: python != nil, "set PIPE_TORCH_PYTHON to a Python with torch + transformers to run"),
          arguments: ["tied", "untied", "sharded", "f16", "bf16", "gelu", "bin", "bin_f16", "bin_untied", "bin_sharded", "bin_uer", "bin_legacy", "bin_convert",
                      "inner", "inner_odd", "eps", "pos256", "pos1024", "extras", "upcast", "shard200k", "relu", "silu", "quick_gelu",
                      "layer_idx", "noscale",
                      "act_relu6", "act_leaky_relu", "act_hardswish", "act_relu2", "act_sigmoid", "act_tanh", "act_linear", "act_mish",
                      "act_sqrtsoftplus", "act_gelu_10", "act_laplace", "act_gelu_python_tanh"])
    func transformersCheckpointLoadsHere(variant: String) throws {
        let dir = temporaryDirectory("from-hf-\(variant)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try runPython(["export", dir, variant])
        if variant.hasPrefix("bin") {
            #expect(!FileManager.default.fileExists(atPath: dir + "/model.safetensors"))
            #expect(FileManager.default.fileExists(atPath: dir + (variant == "bin_sharded" ? "/pytorch_model.bin.index.json" : "/pytorch_model.bin")))
        }
        if variant == "bin_convert" {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.python!)
            p.arguments = [Self.convertScript, dir]
            try p.run()
            p.waitUntilExit()
            try #require(p.terminationStatus == 0, "convert-to-safetensors.py failed")
        }
        if variant == "sharded" {
            #expect(FileManager.default.fileExists(atPath: dir + "/model.safetensors.index.json"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/model.safetensors"))
        }
        let model = try GPTModel.load(from: dir)
        #expect(model.config.vocabSize == 29 && model.config.layers == 2 && model.config.heads == (variant == "shard200k" ? 4 : 3))
        #expect(model.config.maxPositions == ["pos256": 256, "pos1024": 1024][variant] ?? 16)
        #expect(model.config.layerNormEpsilon == (variant == "eps" ? 1e-3 : 1e-5))
        #expect(model.config.tieWordEmbeddings == (variant != "untied" && variant != "bin_untied"))
        let activations: [String: GPTConfig.Activation] = ["gelu": .geluExact, "relu": .relu, "silu": .silu, "quick_gelu": .quickGelu]
        let named = variant.hasPrefix("act_") ? GPTConfig.Activation(huggingFaceName: String(variant.dropFirst(4))) : nil
        #expect(model.config.activation == named ?? activations[variant] ?? .geluTanh)
        #expect(model.config.mlpChannels == (variant == "inner_odd" ? 20 : 4 * model.config.channels))
        let batch = TokenBatch.leftPadded([[3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2]], padToken: 0)
        model.forward(batch)
        let reference = try transformersOutputs(dir, batch)
        let mask = batch.attentionMask!, v = 29
        try #require(reference.count == batch.batch * batch.time * v)
        var worst: Float = 0
        for i in 0..<(batch.batch * batch.time) where mask[i] != 0 {
            for j in 0..<v { worst = max(worst, abs(model.logits[i * v + j] - reference[i * v + j])) }
        }
        #expect(worst < 1e-4, "\(variant): worst logit difference \(worst)")
    }

    /// Settings pipe does not compute are refused by name, never loaded into a silently different model.
    @Test(.enabled(if: python != nil, "set PIPE_TORCH_PYTHON to a Python with torch + transformers to run"),
          arguments: [("cross", "add_cross_attention")])
    func unsupportedTransformersSettingsAreRefused(variant: String, field: String) throws {
        let dir = temporaryDirectory("from-hf-\(variant)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try runPython(["export", dir, variant])
        #expect { try GPTModel.load(from: dir) } throws: { "\($0)".contains("config.json") && "\($0)".contains(field) }
    }
}
