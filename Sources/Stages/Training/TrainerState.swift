import Foundation
import Models

/// Reading and writing the parts of a trainer's checkpoint: a model with its AdamW moments, and a small
/// JSON file of scalars (step, RNG counters, data position).
public enum TrainerState {
    /// `directory/<name>/` gets config.json, model.safetensors and optimizer.safetensors.
    public static func saveModel(_ model: GPTModel, optimizer: AdamW?, to directory: String, name: String = "model") throws {
        try model.save(to: directory + "/" + name, optimizer: optimizer)
    }

    /// Copies the weights (and moments) saved by `saveModel` into an existing model of the same layout.
    public static func restoreModel(_ model: GPTModel, optimizer: AdamW?, from directory: String, name: String = "model") throws {
        let path = directory + "/" + name
        let saved = try GPTModel.load(from: path, valueHead: model.config.valueHead, rewardHead: model.config.rewardHead)
        guard saved.layout.tensors.map(\.name) == model.layout.tensors.map(\.name),
              saved.layout.tensors.map(\.shape) == model.layout.tensors.map(\.shape) else {
            throw StageError.failed("checkpoint \(path) does not match the model being trained (delete it to start over)")
        }
        model.parameters.pointer.update(from: saved.parameters.pointer, count: model.parameterCount)
        guard let optimizer else { return }
        guard let moments = try saved.loadOptimizer(from: path) else {
            throw StageError.failed("checkpoint \(path) has no \(Checkpoint.optimizerFile) (delete it to start over)")
        }
        optimizer.m.pointer.update(from: moments.m.pointer, count: model.parameterCount)
        optimizer.v.pointer.update(from: moments.v.pointer, count: model.parameterCount)
        optimizer.step = moments.step
    }

    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(value).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public static func readJSON<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StageError.failed("\(path): cannot read checkpoint state (delete the checkpoint to start over)")
        }
        do { return try JSONDecoder().decode(type, from: data) } catch {
            throw StageError.failed("\(path): not a checkpoint state this version understands (\(error)); delete it to start over")
        }
    }
}
