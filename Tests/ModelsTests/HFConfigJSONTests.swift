import Foundation
import Testing
@testable import Models

/// config.json read through the one JSON parser: the same numbers as Foundation gave, positioned
/// syntax errors, and wrong-typed fields named with the value found.
@Suite("HF config.json reading")
struct HFConfigJSONTests {
    /// A GPT-2 config.json with `extra` members appended (raw JSON text after the required ones).
    static func config(_ extra: String = "") -> String {
        "{\n  \"model_type\": \"gpt2\",\n  \"vocab_size\": 13,\n  \"n_positions\": 16,\n  \"n_embd\": 8,\n  \"n_layer\": 2,\n  \"n_head\": 2" + extra + "\n}\n"
    }

    static func decode(_ text: String) throws(CheckpointError) -> GPTConfig {
        try HFConfigJSON.decode(Data(text.utf8), file: "config.json")
    }

    static func failure(_ text: String) -> String {
        do { _ = try decode(text); return "accepted" } catch { return error.description }
    }

    /// Typical Hugging Face float spellings become the same Float that JSONSerialization's
    /// NSNumber.floatValue gave (both go through the correctly rounded Double).
    @Test(arguments: ["1e-05", "1e-5", "1E-05", "1e-06", "1e-12", "0.02", "0.1", "1", "3e-4", "0.00001",
                      "9.999999747378752e-06", "0.1000000015", "1.0", "2.5e-1", "1e-45", "3.4028234663852886e38"])
    func floatsMatchFoundation(_ spelling: String) throws {
        let parsed = try Self.decode(Self.config(",\n  \"layer_norm_epsilon\": \(spelling)")).layerNormEpsilon
        let object = try #require(try JSONSerialization.jsonObject(with: Data("{\"x\": \(spelling)}".utf8)) as? [String: Any])
        let foundation = try #require(object["x"] as? NSNumber).floatValue
        #expect(parsed.bitPattern == foundation.bitPattern, "\(spelling): \(parsed) ≠ Foundation's \(foundation)")
    }

    /// Python's `json` may write an integer field as a float: `8.0` is 8; `8.5` and `true` are not integers.
    @Test func integerValuedFloatsAreIntegersAndBooleansAreNot() throws {
        let config = try Self.decode(Self.config().replacingOccurrences(of: "\"n_embd\": 8", with: "\"n_embd\": 8.0")
                                         .replacingOccurrences(of: "\"vocab_size\": 13", with: "\"vocab_size\": 1.3e1"))
        #expect(config.channels == 8 && config.vocabSize == 13)
        #expect(Self.failure(Self.config().replacingOccurrences(of: "\"n_embd\": 8", with: "\"n_embd\": 8.5"))
                == "config.json: field 'n_embd' must be an integer, got 8.5")
        #expect(Self.failure(Self.config().replacingOccurrences(of: "\"n_embd\": 8", with: "\"n_embd\": \"768\""))
                == "config.json: field 'n_embd' must be an integer, got \"768\"")
        #expect(Self.failure(Self.config().replacingOccurrences(of: "\"n_layer\": 2", with: "\"n_layer\": [2]"))
                == "config.json: field 'n_layer' must be an integer, got an array")
        #expect(Self.failure(Self.config(",\n  \"tie_word_embeddings\": 1"))
                == "config.json: field 'tie_word_embeddings' must be true or false, got 1")
        #expect(Self.failure(Self.config(",\n  \"layer_norm_epsilon\": true"))
                == "config.json: field 'layer_norm_epsilon' must be a number, got true")
        #expect(Self.failure(Self.config(",\n  \"layer_norm_epsilon\": \"1e-5\""))
                == "config.json: field 'layer_norm_epsilon' must be a number, got \"1e-5\"")
        // Token ids: 50256.0 is the id 50256; a boolean is not an id (left out, as a non-integer always was).
        #expect(try Self.decode(Self.config(",\n  \"eos_token_id\": 12.0,\n  \"bos_token_id\": true")).eosTokenID == 12)
        #expect(try Self.decode(Self.config(",\n  \"bos_token_id\": true")).bosTokenID == nil)
    }

    /// Syntax errors name the line and column and what was expected; a duplicate key is one of them.
    @Test func malformedFilesArePositioned() {
        #expect(Self.failure("{\n  \"vocab_size\": 13,\n  \"n_embd\" 8\n}\n")
                == "config.json: not valid JSON: line 3, column 12: expected ':' after a key")
        #expect(Self.failure(Self.config().replacingOccurrences(of: "\"n_layer\": 2,", with: "\"n_layer\": 2"))
                == "config.json: not valid JSON: line 7, column 3: expected ',' or '}' in an object, found '\"'")
        #expect(Self.failure(Self.config(",\n  \"n_embd\": 16"))
                == "config.json: not valid JSON: line 8, column 3: duplicate key \"n_embd\"")
        #expect(Self.failure("{\"vocab_size\": 13,") == "config.json: not valid JSON: line 1, column 19: unexpected end of text inside an object")
        #expect(Self.failure("\u{FEFF}[1]") == "config.json: top level is not a JSON object")
        #expect(Self.failure("{\"n_embd\": 1e999}") == "config.json: not valid JSON: line 1, column 12: number 1e999 is out of range")
    }
}
