import Foundation
import Models
import Tokenizer

/// The model directories the RLHF stages exchange: HF-style `config.json` + `model.safetensors` +
/// `tokenizer.json` (+ `tokenizer_config.json`), so every model artifact is self-contained.
public enum ModelArtifacts {
    public static func save(_ model: GPTModel, tokenizer: PretrainedTokenizer, template: PromptTemplate? = nil,
                            to directory: String) throws {
        try model.save(to: directory)
        try tokenizer.save(directory: directory, modelMaxLength: model.config.maxPositions)
        if let template { try TemplateFile.save(template, to: directory) }
    }

    public static func tokenizer(in directory: String, input: String) throws -> PretrainedTokenizer {
        do { return try PretrainedTokenizer.load(directory: directory) } catch {
            throw StageError.badInput(input, "\(error) — expected a model folder with tokenizer.json, or vocab.txt (+ tokenizer_config.json), or vocab.json + merges.txt")
        }
    }

    public static func load(_ directory: String, input: String, valueHead: Bool = false, rewardHead: Bool = false,
                            seed: UInt64 = 0) throws -> GPTModel {
        do { return try GPTModel.load(from: directory, valueHead: valueHead, rewardHead: rewardHead, seed: seed) } catch {
            throw StageError.badInput(input, "\(error)")
        }
    }

    /// `[EOS] + tokens`: every sequence the models see starts with the separator, as in SFT training.
    public static func withBOS(_ tokens: some Sequence<Int32>, eos: Int32) -> [Int32] { [eos] + Array(tokens) }
}
