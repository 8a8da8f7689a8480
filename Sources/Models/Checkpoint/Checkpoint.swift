import Foundation
import Tensor

/// HF-compatible checkpoints: `config.json` + `model.safetensors` in GPT2LMHeadModel's state-dict names
/// (Conv1D weights [in, out], `lm_head.weight` omitted because it is tied to `transformer.wte.weight`,
/// as `save_pretrained` does), heads as `v_head.summary.{weight,bias}` (TRL) and `score.weight`
/// (GPT2ForSequenceClassification); optionally `optimizer.safetensors` with the AdamW moments
/// (`exp_avg.<name>`, `exp_avg_sq.<name>`) and step, so training can resume bit-exactly.
public enum Checkpoint {
    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"
    public static let optimizerFile = "optimizer.safetensors"
}

extension GPTModel {
    /// Writes config.json and model.safetensors (and optimizer.safetensors when `optimizer` is given)
    /// into `directory`, creating it. Same model → same bytes.
    public func save(to directory: String, optimizer: AdamW? = nil) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configPath = directory + "/" + Checkpoint.configFile
        do {
            try Data(HFConfigJSON.encode(config).utf8).write(to: URL(fileURLWithPath: configPath), options: .atomic)
        } catch {
            throw CheckpointError(file: configPath, message: "cannot write: \(error.localizedDescription)")
        }
        let tensors = layout.tensors.map { t in
            SafetensorsTensor(name: t.name, shape: t.shape,
                              floats: UnsafeBufferPointer(start: parameters.pointer + t.offset, count: t.count))
        }
        try Safetensors.write(tensors, metadata: ["format": "pt"], to: directory + "/" + Checkpoint.weightsFile)
        if let optimizer {
            var state: [SafetensorsTensor] = []
            for t in layout.tensors {
                state.append(SafetensorsTensor(name: "exp_avg." + t.name, shape: t.shape,
                                               floats: UnsafeBufferPointer(start: optimizer.m.pointer + t.offset, count: t.count)))
                state.append(SafetensorsTensor(name: "exp_avg_sq." + t.name, shape: t.shape,
                                               floats: UnsafeBufferPointer(start: optimizer.v.pointer + t.offset, count: t.count)))
            }
            state.append(SafetensorsTensor(name: "step", shape: [], int64s: [Int64(optimizer.step)]))
            let metadata = ["format": "pt", "optimizer": "AdamW", "beta1": "\(optimizer.beta1)", "beta2": "\(optimizer.beta2)",
                            "eps": "\(optimizer.epsilon)", "weight_decay": "\(optimizer.weightDecay)"]
            try Safetensors.write(state, metadata: metadata, to: directory + "/" + Checkpoint.optimizerFile)
        }
    }

    /// Loads a checkpoint written by `save` or by transformers (GPT2LMHeadModel / GPT2Model /
    /// GPT2ForSequenceClassification / TRL value-head models; names with or without the
    /// `transformer.` prefix). Heads found in the file are loaded; `valueHead`/`rewardHead` add a
    /// freshly initialised head (from `seed`) when the file has none. Causal-mask buffers
    /// (`attn.bias`, `attn.masked_bias`) are ignored; an untied `lm_head.weight` is rejected.
    public static func load(from directory: String, valueHead: Bool = false, rewardHead: Bool = false,
                            seed: UInt64 = 0) throws -> GPTModel {
        let configPath = directory + "/" + Checkpoint.configFile
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw CheckpointError(file: configPath, message: "cannot read (is this a checkpoint directory?)")
        }
        var config = try HFConfigJSON.decode(data, file: configPath)
        let weightsPath = directory + "/" + Checkpoint.weightsFile
        let file = try SafetensorsFile(path: weightsPath)

        // Canonical name of every stored tensor (adds the `transformer.` prefix where missing).
        var stored: [String: String] = [:]
        for name in file.names {
            if name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") { continue }
            let canonical = name.hasPrefix("transformer.") || name.hasPrefix("v_head.") || name.hasPrefix("score.")
                || name.hasPrefix("lm_head.") ? name : "transformer." + name
            if stored[canonical] != nil {
                throw CheckpointError(file: weightsPath, message: "tensor '\(canonical)' stored twice (with and without the transformer. prefix)")
            }
            stored[canonical] = name
        }
        config.valueHead = valueHead || stored["v_head.summary.weight"] != nil
        config.rewardHead = rewardHead || stored["score.weight"] != nil
        let model = try GPTModel(config: config, seed: seed)
        var used = Set<String>()
        for t in model.layout.tensors {
            guard let name = stored[t.name] else {
                let isNewHead = (t.name.hasPrefix("v_head.") && stored["v_head.summary.weight"] == nil)
                    || (t.name == "score.weight")
                if isNewHead { continue }
                throw CheckpointError(file: weightsPath, message: "missing tensor '\(t.name)' (shape \(t.shape)) required by config.json")
            }
            let info = try file.info(name)
            guard info.shape == t.shape || (info.shape.reduce(1, *) == t.count && t.name == "v_head.summary.bias") else {
                throw CheckpointError(file: weightsPath, message: "tensor '\(name)' has shape \(info.shape), expected \(t.shape) from config.json")
            }
            guard info.dtype == .f32 else {
                throw CheckpointError(file: weightsPath, message: "tensor '\(name)' is \(info.dtype.rawValue); only F32 checkpoints are supported (convert with model.float())")
            }
            try file.copyFloats(name, into: UnsafeMutableBufferPointer(start: model.parameters.pointer + t.offset, count: t.count))
            used.insert(t.name)
        }
        if let lmHead = stored["lm_head.weight"] {
            let head = try file.floats(lmHead)
            let wte = model.parameter("transformer.wte.weight")!
            guard head.count == wte.count, zip(head, wte).allSatisfy({ $0 == $1 }) else {
                throw CheckpointError(file: weightsPath, message: "lm_head.weight differs from transformer.wte.weight; untied LM heads are not supported")
            }
            used.insert("lm_head.weight")
        }
        let unknown = stored.keys.filter { !used.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw CheckpointError(file: weightsPath, message: "unexpected tensors \(unknown.prefix(5).joined(separator: ", ")) — not a GPT-2 checkpoint this loader understands")
        }
        return model
    }

    /// Loads optimizer.safetensors written by `save(to:optimizer:)`; nil when the directory has none.
    public func loadOptimizer(from directory: String) throws -> AdamW? {
        let path = directory + "/" + Checkpoint.optimizerFile
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let file = try SafetensorsFile(path: path)
        func hyper(_ key: String, _ fallback: Float) throws -> Float {
            guard let text = file.metadata[key] else { return fallback }
            guard let value = Float(text) else { throw CheckpointError(file: path, message: "metadata '\(key)' is not a number: \(text)") }
            return value
        }
        let adam = AdamW(for: self, beta1: try hyper("beta1", 0.9), beta2: try hyper("beta2", 0.999),
                         epsilon: try hyper("eps", 1e-8), weightDecay: try hyper("weight_decay", 0.01))
        for t in layout.tensors {
            let newHead = !file.names.contains("exp_avg." + t.name) && (t.name.hasPrefix("v_head.") || t.name == "score.weight")
            if newHead { continue }  // a head added after the optimiser state was saved starts from zero moments
            try file.copyFloats("exp_avg." + t.name, into: UnsafeMutableBufferPointer(start: adam.m.pointer + t.offset, count: t.count))
            try file.copyFloats("exp_avg_sq." + t.name, into: UnsafeMutableBufferPointer(start: adam.v.pointer + t.offset, count: t.count))
        }
        let step = try file.int64s("step")
        guard step.count == 1, step[0] >= 0 else { throw CheckpointError(file: path, message: "'step' must be one non-negative integer") }
        adam.step = Int(step[0])
        return adam
    }
}
