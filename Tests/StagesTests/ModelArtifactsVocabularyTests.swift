import Models
import Testing
import Tokenizer
@testable import Stages

/// A model started from `init:` whose embedding table is smaller than the tokenizer is refused with the
/// file, the two sizes and the fix, before any training; a larger table (padded vocabularies) is fine.
@Suite("init: vocabulary against the tokenizer")
struct ModelArtifactsVocabularyTests {
    @Test func smallerEmbeddingThanTokenizerIsRefused() throws {
        let wordPiece = try WordPieceTokenizer(vocabulary: ["[UNK]", "[SEP]", "好", "看"], addedTokens: [AddedToken(id: 1, content: "[SEP]", special: true)])
        let tokenizer = try PretrainedTokenizer(model: .wordPiece(wordPiece), names: SpecialTokenNames(unk: "[UNK]", sep: "[SEP]"), source: "tok")
        let small = try GPTModel(config: GPTConfig(vocabSize: 3, maxPositions: 8, channels: 4, layers: 1, heads: 1), seed: 1)
        #expect { try ModelArtifacts.checkVocabulary(small, of: "/models/hf", input: "init", tokenizer: tokenizer) } throws: {
            "\($0)" == "input 'init': /models/hf/config.json: vocab_size 3 is smaller than the tokenizer's 4 tokens — the tokenizer does not "
                + "belong to this model (with transformers: model.resize_token_embeddings(len(tokenizer)), then save_pretrained)"
        }
        let padded = try GPTModel(config: GPTConfig(vocabSize: 8, maxPositions: 8, channels: 4, layers: 1, heads: 1), seed: 1)
        try ModelArtifacts.checkVocabulary(padded, of: "/models/hf", input: "init", tokenizer: tokenizer)
    }
}
