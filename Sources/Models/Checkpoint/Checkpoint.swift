import Foundation
import Tensor

/// HF-compatible checkpoints: `config.json` + `model.safetensors` in GPT2LMHeadModel's state-dict names
/// (Conv1D weights [in, out], `lm_head.weight` omitted when it is tied to `transformer.wte.weight`,
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

    /// Loads a checkpoint written by `save` or by transformers' `save_pretrained` (GPT2LMHeadModel,
    /// GPT2Model, GPT2ForSequenceClassification, TRL value-head models): `config.json` plus
    /// `model.safetensors` or sharded weights (`model.safetensors.index.json`), or PyTorch's `pytorch_model.bin`
    /// (or `pytorch_model.bin.index.json` with .bin shards; read without Python); names with or without the
    /// `transformer.` prefix; F32, F16, BF16 or F64 (converted to Float32); tied or untied LM head (an
    /// `lm_head.weight` that differs from wte is kept as its own head). Heads found in the file are
    /// loaded; `valueHead`/`rewardHead` add a freshly initialised head (from `seed`) when the file has
    /// none. Other tensors (causal-mask buffers, heads pipe does not use) are ignored.
    ///
    /// Every shape and dtype is checked against config.json and the weight files' headers before the
    /// model is allocated, and the model must fit in memory; errors name the file and what to fix.
    public static func load(from directory: String, valueHead: Bool = false, rewardHead: Bool = false,
                            seed: UInt64 = 0) throws -> GPTModel {
        let configPath = directory + "/" + Checkpoint.configFile
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError(file: directory, message: "not a directory (expected a model folder with config.json and model.safetensors)")
        }
        var config = try HFConfigJSON.decode(CheckpointWeights.readJSONFile(configPath), file: configPath)
        var weights = try CheckpointWeights.open(directory: directory)
        try dropClassifierHead(&weights, rewardHead: rewardHead)
        config.valueHead = valueHead || weights["v_head.summary.weight"] != nil
        config.rewardHead = rewardHead || weights["score.weight"] != nil
        try decideLMHead(&config, &weights, configPath: configPath)
        do { try config.validate() } catch { throw CheckpointError(file: configPath, message: error.description) }
        try checkStoredLayers(weights, config: config)

        let layout = ParameterLayout(config)
        let newHeads = Set(layout.tensors.map(\.name).filter { name in
            (name.hasPrefix("v_head.") && weights["v_head.summary.weight"] == nil) || (name == "score.weight" && weights["score.weight"] == nil)
        })
        try checkShapes(layout, weights, config: config, newHeads: newHeads)

        let model: GPTModel
        do {
            model = try GPTModel(config: config, seed: seed, initializing: { newHeads.contains($0) })
        } catch {
            throw CheckpointError(file: configPath, message: error.description)
        }
        for t in layout.tensors where !newHeads.contains(t.name) {
            try weights.read(weights[t.name]!, into: UnsafeMutableBufferPointer(start: model.parameters.pointer + t.offset, count: t.count))
        }
        return model
    }

    /// `score.weight` of a GPT2ForSequenceClassification with several labels [num_labels, C] is not a
    /// scalar reward head: a stage that wants a reward head from it is refused; any other use loads the
    /// language model and ignores the classifier, as transformers' GPT2LMHeadModel does.
    private static func dropClassifierHead(_ weights: inout CheckpointWeights, rewardHead: Bool) throws {
        guard let score = weights["score.weight"], score.info.shape.count == 2, score.info.shape[0] != 1 else { return }
        let labels = score.info.shape[0]
        if rewardHead {
            throw CheckpointError(file: score.reader.file, message: "tensor '\(score.storedName)' has \(labels) rows: a sequence classifier with "
                + "num_labels \(labels), not a scalar reward model (num_labels 1); start the reward model from the language model, or "
                + "save the classifier with num_labels 1")
        }
        var entries = weights.entries
        entries["score.weight"] = nil
        weights = CheckpointWeights(entries: entries, source: weights.source)
    }

    /// Tied or untied LM head: config.json's `tie_word_embeddings: false` unties it; a stored
    /// `lm_head.weight` that differs from wte does too (it was trained as its own matrix). A file that
    /// stores only `lm_head.weight` of a tied model gives wte.
    private static func decideLMHead(_ config: inout GPTConfig, _ weights: inout CheckpointWeights, configPath: String) throws {
        let wteName = "transformer.wte.weight"
        guard let head = weights["lm_head.weight"] else { return }
        guard config.tieWordEmbeddings else { return }
        guard let wte = weights[wteName] else {
            var entries = weights.entries
            entries[wteName] = head
            entries["lm_head.weight"] = nil
            weights = CheckpointWeights(entries: entries, source: weights.source)
            return
        }
        if try !weights.sameValues(head, wte) { config.tieWordEmbeddings = false }
    }

    /// Every layer the config counts has tensors in the file: checked before the layout is built, which
    /// for a config.json with `n_layer: 1000000` would name a million layers' tensors (minutes, gigabytes).
    private static func checkStoredLayers(_ weights: CheckpointWeights, config: GPTConfig) throws {
        var stored = Set<Int>()
        for name in weights.entries.keys where name.hasPrefix("transformer.h.") {
            if let layer = Int(name.dropFirst("transformer.h.".count).prefix { $0.isNumber }) { stored.insert(layer) }
        }
        guard config.layers > stored.count, let absent = (0..<config.layers).first(where: { !stored.contains($0) }) else { return }
        throw CheckpointError(file: weights.source, message: "config.json says n_layer \(config.layers), but the file stores "
            + (stored.isEmpty ? "no layers" : "\(stored.count) layer\(stored.count == 1 ? "" : "s")") + " (none of layer \(absent)'s tensors, "
            + "e.g. 'transformer.h.\(absent).ln_1.weight') — the config does not describe these weights")
    }

    /// Every tensor the config needs is stored, with the config's shape and a floating-point dtype;
    /// stored layers beyond n_layer mean the config does not describe these weights.
    private static func checkShapes(_ layout: ParameterLayout, _ weights: CheckpointWeights, config: GPTConfig,
                                    newHeads: Set<String>) throws {
        let source = weights.source
        let dimensions = "vocab_size \(config.vocabSize), n_positions \(config.maxPositions), n_embd \(config.channels), n_layer \(config.layers)"
            + (config.innerChannels.map { ", n_inner \($0)" } ?? "")
        var missing: [String] = []
        for t in layout.tensors where !newHeads.contains(t.name) {
            guard let entry = weights[t.name] else {
                missing.append("\(t.name) \(t.shape)")
                continue
            }
            let shape = entry.info.shape
            let scalarBias = t.name == "v_head.summary.bias" && entry.info.elementCount == 1
            guard shape == t.shape || scalarBias else {
                throw CheckpointError(file: entry.reader.file, message: "tensor '\(entry.storedName)' has shape \(shape), but config.json "
                    + "(\(dimensions)) needs \(t.shape) — the config does not describe these weights")
            }
            guard SafetensorsReader.isFloatingPoint(entry.info.dtype) else {
                throw CheckpointError(file: entry.reader.file, message: "tensor '\(entry.storedName)' is \(entry.info.dtype.rawValue); "
                    + "model weights must be F32, F16, BF16 or F64")
            }
        }
        if !missing.isEmpty {
            let untied = config.tieWordEmbeddings ? "" : " (config.json sets tie_word_embeddings false, so lm_head.weight is needed)"
            throw CheckpointError(file: source, message: "missing tensor\(missing.count == 1 ? "" : "s") "
                + missing.prefix(8).map { "'\($0)'" }.joined(separator: ", ") + (missing.count > 8 ? " and \(missing.count - 8) more" : "")
                + " required by config.json (\(dimensions))" + untied)
        }
        for name in weights.entries.keys.sorted() where name.hasPrefix("transformer.h.") {
            let index = name.dropFirst("transformer.h.".count).prefix { $0.isNumber }
            if let layer = Int(index), layer >= config.layers {
                throw CheckpointError(file: weights[name]!.reader.file, message: "tensor '\(weights[name]!.storedName)' belongs to layer "
                    + "\(layer), but config.json says n_layer \(config.layers) — the config does not describe these weights")
            }
        }
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
