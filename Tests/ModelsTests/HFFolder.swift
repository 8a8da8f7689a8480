import Foundation
import Tensor
@testable import Models

/// Writes a model as a Hugging Face GPT-2 folder the way other tools lay them out, so the loader can
/// be tested on every variant: dtypes, shards, the `transformer.` prefix, an lm_head copy, buffers.
struct HFFolder {
    var dtype: SafetensorsDType = .f32
    /// 1 = a single model.safetensors; more = model-0000i-of-0000n.safetensors + index.json.
    var shards = 1
    var prefix = true
    /// Also store `lm_head.weight` (a copy of wte for a tied model).
    var lmHeadCopy = false
    /// Causal-mask buffers and an unused head, as old checkpoints and double-heads models carry.
    var extraTensors = false
    var generationConfig = false

    /// The tensors of `model` as stored (names, dtype).
    func tensors(_ model: GPTModel) -> [SafetensorsTensor] {
        var out: [SafetensorsTensor] = []
        for t in model.layout.tensors {
            let values = UnsafeBufferPointer(start: model.parameters.pointer + t.offset, count: t.count)
            let name = prefix || !t.name.hasPrefix("transformer.") ? t.name : String(t.name.dropFirst("transformer.".count))
            out.append(SafetensorsTensor(name: name, shape: t.shape, floats: values, storedAs: dtype))
        }
        if lmHeadCopy && model.config.tieWordEmbeddings {
            out.append(SafetensorsTensor(name: "lm_head.weight", shape: [model.config.vocabSize, model.config.channels],
                                         floats: model.parameter("transformer.wte.weight")!, storedAs: dtype))
        }
        if extraTensors {
            let t = model.config.maxPositions, p = prefix ? "transformer." : ""
            for l in 0..<model.config.layers {
                out.append(SafetensorsTensor(name: "\(p)h.\(l).attn.bias", shape: [1, 1, t, t],
                                             floats: [Float](repeating: 1, count: t * t), storedAs: dtype))
                out.append(SafetensorsTensor(name: "\(p)h.\(l).attn.masked_bias", shape: [], floats: [-1e4], storedAs: dtype))
            }
            out.append(SafetensorsTensor(name: "multiple_choice_head.summary.weight", shape: [1, model.config.channels],
                                         floats: [Float](repeating: 0.5, count: model.config.channels), storedAs: dtype))
        }
        return out
    }

    func write(_ model: GPTModel, to dir: String) throws {
        try model.save(to: dir)  // config.json (+ a model.safetensors replaced below)
        try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
        let all = tensors(model)
        if shards == 1 {
            try Safetensors.write(all, to: dir + "/model.safetensors")
        } else {
            var map: [String] = []
            for s in 0..<shards {
                let file = String(format: "model-%05d-of-%05d.safetensors", s + 1, shards)
                let part = all.enumerated().filter { $0.offset % shards == s }.map(\.element)
                try Safetensors.write(part, to: dir + "/" + file)
                map += part.map { "\"\($0.name)\": \"\(file)\"" }
            }
            let index = "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {\(map.joined(separator: ", "))}}"
            try index.write(toFile: dir + "/model.safetensors.index.json", atomically: true, encoding: .utf8)
        }
        if generationConfig {
            try "{\"bos_token_id\": 50256, \"eos_token_id\": 50256, \"do_sample\": true, \"max_length\": 50}"
                .write(toFile: dir + "/generation_config.json", atomically: true, encoding: .utf8)
        }
    }

    /// What the loader should produce: every parameter rounded through the stored dtype.
    static func expectedParameters(_ model: GPTModel, dtype: SafetensorsDType) -> [Float] {
        model.parameters.array.map { x in
            switch dtype {
            case .f16: FloatConversion.float(halfBits: FloatConversion.halfBits(x))
            case .bf16: FloatConversion.float(bfloat16Bits: FloatConversion.bfloat16Bits(x))
            default: x
            }
        }
    }
}

/// Sets `"key": value` in a config.json written by `save` (replaced in place, or added when absent).
func editConfig(_ dir: String, _ edits: [String: String]) throws {
    let path = dir + "/config.json"
    var text = try String(contentsOfFile: path, encoding: .utf8)
    for (key, value) in edits.sorted(by: { $0.key < $1.key }) {
        guard let range = text.range(of: "\"\(key)\": [^,\\n]*", options: .regularExpression) else {
            text = text.replacingOccurrences(of: "{\n", with: "{\n  \"\(key)\": \(value),\n")
            continue
        }
        text.replaceSubrange(range, with: "\"\(key)\": \(value)")
    }
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}
