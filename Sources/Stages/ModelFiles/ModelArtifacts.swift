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

    /// A model started from `init` must embed every id the tokenizer produces.
    public static func checkVocabulary(_ model: GPTModel, of directory: String, input: String, tokenizer: PretrainedTokenizer) throws {
        guard model.config.vocabSize < tokenizer.vocabSize else { return }
        throw StageError.badInput(input, "\(directory)/config.json: vocab_size \(model.config.vocabSize) is smaller than the tokenizer's "
            + "\(tokenizer.vocabSize) tokens — the tokenizer does not belong to this model (with transformers: "
            + "model.resize_token_embeddings(len(tokenizer)), then save_pretrained)")
    }

    /// `[EOS] + tokens`: every sequence the models see starts with the separator, as in SFT training.
    public static func withBOS(_ tokens: some Sequence<Int32>, eos: Int32) -> [Int32] { [eos] + Array(tokens) }
}
