import Foundation
import Testing
import Tensor
@testable import Models

func temporaryDirectory(_ label: String) -> String {
    let path = NSTemporaryDirectory() + "pipe-models-\(label)-\(getpid())-\(UInt64.random(in: 0 ... .max))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite("Checkpoints")
struct CheckpointTests {
    @Test func roundTripWithHeadsAndOptimizer() throws {
        let dir = temporaryDirectory("roundtrip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = tinyConfig(valueHead: true, rewardHead: true)
        config.eosTokenID = 2
        config.padTokenID = 0
        let model = try GPTModel(config: config, seed: 8)
        let adam = AdamW(for: model, weightDecay: 0.1)
        let batch = TokenBatch(tokens: randomTokens(10, vocab: config.vocabSize, seed: 1), batch: 2, time: 5)
        model.forward(batch)
        _ = model.crossEntropy(targets: randomTokens(10, vocab: config.vocabSize, seed: 2))
        model.backward(dLogits: model.logits.baseAddress)
        adam.update(model, learningRate: 1e-2)
        try model.save(to: dir, optimizer: adam)

        let loaded = try GPTModel.load(from: dir)
        #expect(loaded.config == config)
        #expect(loaded.parameters.array == model.parameters.array)
        let state = try #require(try loaded.loadOptimizer(from: dir))
        #expect(state.step == 1 && state.m.array == adam.m.array && state.v.array == adam.v.array && state.weightDecay == 0.1)

        // Saving again gives the same bytes.
        let dir2 = temporaryDirectory("roundtrip2")
        defer { try? FileManager.default.removeItem(atPath: dir2) }
        try loaded.save(to: dir2, optimizer: state)
        for file in [Checkpoint.configFile, Checkpoint.weightsFile, Checkpoint.optimizerFile] {
            #expect(FileManager.default.contents(atPath: dir + "/" + file) == FileManager.default.contents(atPath: dir2 + "/" + file), "\(file)")
        }
        // HF layout: Conv1D [in, out] shapes, no lm_head (tied).
        let file = try SafetensorsFile(path: dir + "/" + Checkpoint.weightsFile)
        #expect(try file.info("transformer.h.0.attn.c_attn.weight").shape == [8, 24])
        #expect(try file.info("transformer.h.1.mlp.c_proj.weight").shape == [32, 8])
        #expect(try file.info("v_head.summary.weight").shape == [1, 8])
        #expect(try file.info("score.weight").shape == [1, 8])
        #expect(!file.names.contains("lm_head.weight"))
        #expect(file.metadata["format"] == "pt")
    }

    /// An HF-style file: no `transformer.` prefix, causal-mask buffers, a tied lm_head copy.
    @Test func loadsHFLayoutWithoutPrefix() throws {
        let dir = temporaryDirectory("hf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try GPTModel(config: tinyConfig(), seed: 9)
        try model.save(to: dir)
        var tensors: [SafetensorsTensor] = model.layout.tensors.map { t in
            SafetensorsTensor(name: String(t.name.dropFirst("transformer.".count)), shape: t.shape,
                              floats: UnsafeBufferPointer(start: model.parameters.pointer + t.offset, count: t.count))
        }
        tensors.append(SafetensorsTensor(name: "h.0.attn.bias", shape: [1, 1, 12, 12], floats: [Float](repeating: 1, count: 144)))
        tensors.append(SafetensorsTensor(name: "lm_head.weight", shape: [13, 8], floats: Array(model.parameter("transformer.wte.weight")!)))
        try Safetensors.write(tensors, to: dir + "/" + Checkpoint.weightsFile)
        let loaded = try GPTModel.load(from: dir, valueHead: true, seed: 4)
        #expect(loaded.config.valueHead && !loaded.config.rewardHead)
        #expect(Array(loaded.parameters.array[0..<model.parameterCount]) == model.parameters.array)
        #expect(loaded.parameter("v_head.summary.weight")!.contains { $0 != 0 })  // freshly initialised head
    }

    @Test func rejectsBrokenCheckpointsWithClearErrors() throws {
        let dir = temporaryDirectory("broken")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try GPTModel(config: tinyConfig(), seed: 10)
        try model.save(to: dir)
        // Missing tensor.
        let tensors = model.layout.tensors.filter { $0.name != "transformer.ln_f.bias" }.map { t in
            SafetensorsTensor(name: t.name, shape: t.shape, floats: UnsafeBufferPointer(start: model.parameters.pointer + t.offset, count: t.count))
        }
        try Safetensors.write(tensors, to: dir + "/" + Checkpoint.weightsFile)
        #expect { try GPTModel.load(from: dir) } throws: { "\($0)".contains("missing tensor 'transformer.ln_f.bias [8]'") }
        // Wrong shape in config.
        try model.save(to: dir)
        let text = try String(contentsOfFile: dir + "/config.json", encoding: .utf8).replacingOccurrences(of: "\"n_embd\": 8", with: "\"n_embd\": 16")
        try text.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        #expect { try GPTModel.load(from: dir) } throws: { "\($0)".contains("has shape [13, 8], but config.json (vocab_size 13, n_positions 12, n_embd 16, n_layer 2) needs [13, 16]") }
        // Missing field.
        try "{\"vocab_size\": 13}".write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        #expect { try GPTModel.load(from: dir) } throws: { "\($0)".contains("config.json: missing field 'n_positions'") }
        // An lm_head that differs from wte loads as an untied head (HFCheckpointTests has the details).
        try model.save(to: dir)
        var withHead = model.layout.tensors.map { t in
            SafetensorsTensor(name: t.name, shape: t.shape, floats: UnsafeBufferPointer(start: model.parameters.pointer + t.offset, count: t.count))
        }
        withHead.append(SafetensorsTensor(name: "lm_head.weight", shape: [13, 8], floats: [Float](repeating: 0.5, count: 104)))
        try Safetensors.write(withHead, to: dir + "/" + Checkpoint.weightsFile)
        let untied = try GPTModel.load(from: dir)
        #expect(!untied.config.tieWordEmbeddings && untied.parameter("lm_head.weight")!.allSatisfy { $0 == 0.5 })
    }
}
