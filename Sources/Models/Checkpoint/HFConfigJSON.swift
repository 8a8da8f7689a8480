import Foundation

/// Reads and writes GPT-2 `config.json` (transformers' GPT2Config keys).
enum HFConfigJSON {
    /// The file text: keys sorted, two-space indent, so the same config gives the same bytes.
    static func encode(_ config: GPTConfig) -> String {
        var entries: [(String, String)] = [
            ("activation_function", "\"\(config.activation.rawValue)\""),
            ("architectures", config.rewardHead && !config.valueHead ? "[\"GPT2ForSequenceClassification\"]" : "[\"GPT2LMHeadModel\"]"),
            ("attn_pdrop", number(config.attentionDropout)),
            ("embd_pdrop", number(config.embeddingDropout)),
            ("initializer_range", number(config.initializerRange)),
            ("layer_norm_epsilon", number(config.layerNormEpsilon)),
            ("model_type", "\"gpt2\""),
            ("n_ctx", "\(config.maxPositions)"),
            ("n_embd", "\(config.channels)"),
            ("n_head", "\(config.heads)"),
            ("n_inner", "null"),
            ("n_layer", "\(config.layers)"),
            ("n_positions", "\(config.maxPositions)"),
            ("reorder_and_upcast_attn", "false"),
            ("resid_pdrop", number(config.residualDropout)),
            ("scale_attn_by_inverse_layer_idx", "false"),
            ("scale_attn_weights", "true"),
            ("tie_word_embeddings", config.tieWordEmbeddings ? "true" : "false"),
            ("use_cache", "true"),
            ("vocab_size", "\(config.vocabSize)"),
        ]
        if let id = config.bosTokenID { entries.append(("bos_token_id", "\(id)")) }
        if let id = config.eosTokenID { entries.append(("eos_token_id", "\(id)")) }
        if let id = config.padTokenID { entries.append(("pad_token_id", "\(id)")) }
        if config.rewardHead {
            // GPT2ForSequenceClassification with one label (a scalar reward).
            entries.append(("id2label", "{\"0\": \"LABEL_0\"}"))
            entries.append(("label2id", "{\"LABEL_0\": 0}"))
        }
        entries.sort { $0.0 < $1.0 }
        return "{\n" + entries.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    /// Shortest decimal that round-trips the Float (so 0.1 is written as 0.1, not 0.10000000149).
    private static func number(_ x: Float) -> String {
        let s = "\(x)"
        return s.hasSuffix(".0") ? String(s.dropLast(2)) + ".0" : s
    }

    /// Whether a JSONSerialization value is `true`/`false` (Foundation also lets the numbers 0 and 1 cast to Bool).
    private static func isBoolean(_ value: Any) -> Bool {
        #if canImport(Darwin)
        guard let n = value as? NSNumber else { return false }
        return CFGetTypeID(n) == CFBooleanGetTypeID()
        #else
        return value is Bool && type(of: value) != NSNumber.self
        #endif
    }

    /// Parses config.json. Unknown keys are ignored (HF configs carry many); required ones must be present.
    static func decode(_ data: Data, file: String) throws(CheckpointError) -> GPTConfig {
        let object: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw CheckpointError(file: file, message: "top level is not a JSON object")
            }
            object = o
        } catch let e as CheckpointError {
            throw e
        } catch {
            throw CheckpointError(file: file, message: "not valid JSON: \(error.localizedDescription)")
        }
        func integer(_ keys: [String]) throws(CheckpointError) -> Int {
            for key in keys {
                guard let raw = object[key] else { continue }
                if let n = raw as? NSNumber, !isBoolean(raw), n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 0x1p53 {
                    return n.intValue
                }
                throw CheckpointError(file: file, message: "field '\(key)' must be an integer, got \(raw)")
            }
            throw CheckpointError(file: file, message: "missing field '\(keys[0])' (GPT-2 config.json needs vocab_size, n_positions, n_embd, n_layer, n_head)")
        }
        func float(_ key: String, default value: Float) throws(CheckpointError) -> Float {
            guard let raw = object[key], !(raw is NSNull) else { return value }
            guard let n = raw as? NSNumber, !isBoolean(raw) else { throw CheckpointError(file: file, message: "field '\(key)' must be a number, got \(raw)") }
            return n.floatValue
        }
        func bool(_ key: String) throws(CheckpointError) -> Bool? {
            guard let raw = object[key], !(raw is NSNull) else { return nil }
            guard isBoolean(raw), let b = raw as? Bool else { throw CheckpointError(file: file, message: "field '\(key)' must be true or false, got \(raw)") }
            return b
        }
        /// Token ids: an integer, or a list (transformers allows several EOS ids; the first is kept).
        /// They may lie outside the vocabulary (uer's Chinese GPT-2 says 50256 with 21,128 tokens).
        func tokenID(_ key: String) -> Int? {
            var raw = object[key]
            if let list = raw as? [Any] { raw = list.first }
            guard let value = raw, let n = value as? NSNumber, !isBoolean(value), abs(n.doubleValue) < 0x1p31 else { return nil }
            return n.intValue
        }
        if let type = object["model_type"], (type as? String) != "gpt2" {
            throw CheckpointError(file: file, message: "model_type \(type) is not a GPT-2 (pipe loads model_type \"gpt2\")")
        }
        var activation = GPTConfig.Activation.geluTanh
        if let raw = object["activation_function"] {
            guard let name = raw as? String, let a = GPTConfig.Activation(huggingFaceName: name) else {
                throw CheckpointError(file: file, message: "activation_function \(raw) is not supported (use gelu_new, gelu_pytorch_tanh, gelu_fast or gelu)")
            }
            activation = a
        }
        if let inner = object["n_inner"], !(inner is NSNull) {
            let embd = try integer(["n_embd", "hidden_size"])
            guard let n = inner as? NSNumber, !(inner is Bool), n.doubleValue == Double(4 * embd) else {
                throw CheckpointError(file: file, message: "n_inner \(inner) is not supported (only null or 4 × n_embd = \(4 * embd))")
            }
        }
        if try bool("scale_attn_weights") == false {
            throw CheckpointError(file: file, message: "scale_attn_weights false is not supported (attention is scaled by 1/√head_size)")
        }
        if try bool("scale_attn_by_inverse_layer_idx") == true {
            throw CheckpointError(file: file, message: "scale_attn_by_inverse_layer_idx true is not supported")
        }
        if try bool("add_cross_attention") == true {
            throw CheckpointError(file: file, message: "add_cross_attention true is not supported (decoder-only GPT-2 only)")
        }
        var config = GPTConfig(
            vocabSize: try integer(["vocab_size"]), maxPositions: try integer(["n_positions", "n_ctx", "max_position_embeddings"]),
            channels: try integer(["n_embd", "hidden_size"]), layers: try integer(["n_layer", "num_hidden_layers"]),
            heads: try integer(["n_head", "num_attention_heads"]))
        config.layerNormEpsilon = try float("layer_norm_epsilon", default: 1e-5)
        config.initializerRange = try float("initializer_range", default: 0.02)
        config.embeddingDropout = try float("embd_pdrop", default: 0.1)
        config.residualDropout = try float("resid_pdrop", default: 0.1)
        config.attentionDropout = try float("attn_pdrop", default: 0.1)
        config.activation = activation
        config.tieWordEmbeddings = try bool("tie_word_embeddings") ?? true
        config.bosTokenID = tokenID("bos_token_id")
        config.eosTokenID = tokenID("eos_token_id")
        config.padTokenID = tokenID("pad_token_id")
        do { try config.validate() } catch { throw CheckpointError(file: file, message: error.description) }
        return config
    }
}

/// A checkpoint that cannot be read or written; names the file and what to fix.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String
    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }
    public var description: String { "\(file): \(message)" }
}
