import Foundation
import JSONQuoting

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
            ("n_inner", config.innerChannels.map { "\($0)" } ?? "null"),
            ("n_layer", "\(config.layers)"),
            ("n_positions", "\(config.maxPositions)"),
            ("reorder_and_upcast_attn", "false"),
            ("resid_pdrop", number(config.residualDropout)),
            ("scale_attn_by_inverse_layer_idx", config.scaleAttentionByInverseLayerIndex ? "true" : "false"),
            ("scale_attn_weights", config.scaleAttentionWeights ? "true" : "false"),
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

    /// Parses config.json. Unknown keys are ignored (HF configs carry many); required ones must be present.
    static func decode(_ data: Data, file: String) throws(CheckpointError) -> GPTConfig {
        let object: JSONValue
        do { object = try JSONParser.parseFile([UInt8](data)) } catch {
            throw CheckpointError(file: file, message: "not valid JSON: \(error)")
        }
        guard object.members != nil else { throw CheckpointError(file: file, message: "top level is not a JSON object") }
        func integer(_ keys: [String]) throws(CheckpointError) -> Int {
            for key in keys {
                guard let raw = object[key] else { continue }
                if let n = raw.integer, abs(n) < 1 << 53 { return n }
                throw CheckpointError(file: file, message: "field '\(key)' must be an integer, got \(raw.quotedForMessage)")
            }
            throw CheckpointError(file: file, message: "missing field '\(keys[0])' (GPT-2 config.json needs vocab_size, n_positions, n_embd, n_layer, n_head)")
        }
        func float(_ key: String, default value: Float) throws(CheckpointError) -> Float {
            guard let raw = object[key], !raw.isNull else { return value }
            guard let x = raw.number else { throw CheckpointError(file: file, message: "field '\(key)' must be a number, got \(raw.quotedForMessage)") }
            // Through Double, as Foundation's NSNumber.floatValue did: the same Float for every HF value.
            return Float(x)
        }
        func bool(_ key: String) throws(CheckpointError) -> Bool? {
            guard let raw = object[key], !raw.isNull else { return nil }
            guard let b = raw.bool else { throw CheckpointError(file: file, message: "field '\(key)' must be true or false, got \(raw.quotedForMessage)") }
            return b
        }
        /// Token ids: an integer, or a list (transformers allows several EOS ids; the first is kept).
        /// They may lie outside the vocabulary (uer's Chinese GPT-2 says 50256 with 21,128 tokens).
        func tokenID(_ key: String) -> Int? {
            var raw = object[key]
            if let list = raw?.array { raw = list.first }
            guard let n = raw?.integer, abs(n) < 1 << 31 else { return nil }
            return n
        }
        /// A string field as a message shows it: its text, or the JSON of a value of another type.
        func shown(_ value: JSONValue) -> String { value.string ?? value.quotedForMessage }
        if let type = object["model_type"], type.string != "gpt2" {
            throw CheckpointError(file: file, message: "model_type \(shown(type)) is not a GPT-2 (pipe loads model_type \"gpt2\")")
        }
        var activation = GPTConfig.Activation.geluTanh
        if let raw = object["activation_function"] {
            if let name = raw.string, ["prelu", "xielu"].contains(name) {
                throw CheckpointError(file: file, message: "activation_function \(shown(raw)) is not supported (an activation with learned "
                    + "parameters of its own, which pipe neither loads nor trains)")
            }
            guard let name = raw.string, let a = GPTConfig.Activation(huggingFaceName: name) else {
                throw CheckpointError(file: file, message: "activation_function \(shown(raw)) is not supported (use gelu_new, gelu_pytorch_tanh, "
                    + "gelu_python_tanh, gelu_fast, gelu_accurate, gelu, gelu_python, gelu_10, relu, relu6, relu2, leaky_relu, silu, swish, "
                    + "quick_gelu, hardswish, mish, sigmoid, tanh, linear, laplace or sqrtsoftplus)")
            }
            activation = a
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
        config.scaleAttentionWeights = try bool("scale_attn_weights") ?? true
        config.scaleAttentionByInverseLayerIndex = try bool("scale_attn_by_inverse_layer_idx") ?? false
        // n_inner: the MLP's width; null (and 4 × n_embd, written as such by some tools) is GPT-2's default.
        if let inner = object["n_inner"], !inner.isNull {
            guard let n = inner.integer, abs(n) < 1 << 53 else {
                throw CheckpointError(file: file, message: "field 'n_inner' must be an integer or null, got \(inner.quotedForMessage)")
            }
            if n != 4 * config.channels { config.innerChannels = n }
        }
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
