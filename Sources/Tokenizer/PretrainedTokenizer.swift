import Foundation

/// The tokenizer of a model folder — pipe's own byte-level BPE, a pretrained GPT-2 BPE, or BERT
/// WordPiece — together with its end-of-text and padding convention. This is the type the stages use.
///
/// End of text (`endOfTextId`, also the GPT-2-style BOS) is, in order: the `endOfText` given to `load`
/// (e.g. `"[PAD]"`, as the classic Chinese GPT-2 demo does because its config's EOS id 50256 lies outside
/// the 21,128-token vocabulary); `eos_token` of `tokenizer_config.json`/`special_tokens_map.json`;
/// `<|endoftext|>` for BPE, `[SEP]` (the `sep_token`) for WordPiece. Padding: the `pad` given, then
/// `pad_token`, then `<|pad|>` (BPE), then end of text. The choice is written back by `save`.
public struct PretrainedTokenizer: TextTokenizer {
    public enum Model: Sendable {
        case byteLevelBPE(BPETokenizer)
        case wordPiece(WordPieceTokenizer)
        /// Any other `tokenizer.json` (normalizers, other pre-tokenizers, BPE settings, decoders).
        case pipeline(TokenizerPipeline)
    }

    public let model: Model
    /// Role names as `save` writes them (eos and pad resolved).
    public let names: SpecialTokenNames
    public let endOfTextId: Int32
    public let padId: Int32
    /// BOS for stages that want one distinct from end of text: `bos_token`, else [CLS] for WordPiece,
    /// else end of text.
    public let beginOfTextId: Int32
    /// `clean_up_tokenization_spaces` of `tokenizer_config.json`: `transformers` then removes the spaces
    /// before punctuation and inside contractions of decoded WordPiece text ("don ' t ." → "don't.");
    /// it ignores the setting for BPE, and so does pipe.
    public let cleanUpTokenizationSpaces: Bool

    /// pipe's own BPE with its conventions (`<|endoftext|>` for bos/eos/unk, `<|pad|>` or eos for pad).
    public init(_ bpe: BPETokenizer) {
        model = .byteLevelBPE(bpe)
        let eos = bpe.tokenString(bpe.endOfTextId), pad = bpe.tokenString(bpe.padId)
        names = SpecialTokenNames(bos: eos, eos: eos, unk: eos, pad: pad)
        endOfTextId = bpe.endOfTextId
        padId = bpe.padId
        beginOfTextId = bpe.endOfTextId
        cleanUpTokenizationSpaces = false
    }

    /// A model with role names from its config; `endOfText`/`pad` override them. `source` names the
    /// folder in errors.
    public init(model: Model, names configured: SpecialTokenNames, endOfText: String? = nil, pad: String? = nil,
                cleanUpTokenizationSpaces: Bool = false, source: String) throws {
        self.model = model
        if case .wordPiece = model { self.cleanUpTokenizationSpaces = cleanUpTokenizationSpaces } else { self.cleanUpTokenizationSpaces = false }
        func id(_ token: String) -> Int32? {
            switch model {
            case let .byteLevelBPE(bpe):
                if let id = bpe.specialId(token) { return id }
                let ids = bpe.encode(token, allowSpecial: false)
                return ids.count == 1 ? ids[0] : nil
            case let .wordPiece(wp): return wp.id(of: token)
            case let .pipeline(p): return p.id(of: token)
            }
        }
        func resolve(_ role: String, _ token: String) throws -> Int32 {
            guard let found = id(token) else {
                throw TokenizerFileError(file: source, message: "\(role) \(quoted(token)) is not a token of this tokenizer; "
                    + "choose one of its tokens (e.g. eos_token: \"[PAD]\" or \"[SEP]\" for a BERT vocabulary)")
            }
            return found
        }
        var names = configured
        if let endOfText { names.eos = endOfText }
        if let pad { names.pad = pad }
        if names.eos == nil {
            switch model {
            case let .byteLevelBPE(bpe): names.eos = bpe.specialId(BPETokenizer.endOfText) != nil ? BPETokenizer.endOfText : nil
            case .wordPiece: names.eos = names.sep
            case let .pipeline(p):
                // GPT-2's, then SentencePiece's, then BERT's end of text, where the tokenizer has it as an added token.
                names.eos = [BPETokenizer.endOfText, "</s>", names.sep].compactMap { $0 }.first { p.specialId($0) != nil }
            }
        }
        guard let eosName = names.eos else {
            throw TokenizerFileError(file: source, message: "no end-of-text token: the tokenizer names no eos_token and has no default "
                + "(<|endoftext|> or [SEP]); choose one with eos_token")
        }
        let eos = try resolve("eos_token", eosName)
        if names.pad == nil, case let .byteLevelBPE(bpe) = model, bpe.specialId(BPETokenizer.padToken) != nil {
            names.pad = BPETokenizer.padToken
        }
        let padId = try names.pad.map { try resolve("pad_token", $0) } ?? eos
        if names.pad == nil { names.pad = eosName }
        var bos = eos
        if let b = names.bos {
            bos = try resolve("bos_token", b)
        } else if case .wordPiece = model, let cls = names.cls, let c = id(cls) {
            bos = c
        }
        self.names = names
        endOfTextId = eos
        self.padId = padId
        beginOfTextId = bos
    }

    // MARK: TextTokenizer

    public var vocabSize: Int {
        switch model {
        case let .byteLevelBPE(bpe): return bpe.vocabSize
        case let .wordPiece(wp): return wp.vocabSize
        case let .pipeline(p): return p.vocabSize
        }
    }

    public func encode(_ text: String, allowSpecial: Bool = true) -> [Int32] {
        switch model {
        case let .byteLevelBPE(bpe): return bpe.encode(text, allowSpecial: allowSpecial)
        case let .wordPiece(wp): return wp.encode(text, allowSpecial: allowSpecial)
        case let .pipeline(p): return p.encode(text, allowSpecial: allowSpecial)
        }
    }

    public func decode(_ ids: some Sequence<Int32>, skipSpecial: Bool = false) -> String {
        switch model {
        case let .byteLevelBPE(bpe): return bpe.decode(ids, skipSpecial: skipSpecial)
        case let .wordPiece(wp):
            let text = wp.decode(ids, skipSpecial: skipSpecial)
            return cleanUpTokenizationSpaces ? Self.cleanUpTokenization(text) : text
        case let .pipeline(p): return p.decode(ids, skipSpecial: skipSpecial)
        }
    }

    /// `transformers`' `clean_up_tokenization`, applied to the whole decoded text (the WordPiece
    /// decoder's own cleanup works token by token, so " ' " between tokens survives it).
    /// Replacements run one after another, each left to right over code points, as Python's `str.replace`.
    static func cleanUpTokenization(_ text: String) -> String {
        var out = Array(text.unicodeScalars)
        for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                           (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            let pattern = Array(from.unicodeScalars), replacement = Array(to.unicodeScalars)
            var result: [Unicode.Scalar] = []
            result.reserveCapacity(out.count)
            var i = 0
            while i < out.count {
                if i + pattern.count <= out.count && out[i..<(i + pattern.count)].elementsEqual(pattern) {
                    result += replacement
                    i += pattern.count
                } else {
                    result.append(out[i])
                    i += 1
                }
            }
            out = result
        }
        var string = ""
        string.unicodeScalars.append(contentsOf: out)
        return string
    }

    public func specialId(_ content: String) -> Int32? {
        switch model {
        case let .byteLevelBPE(bpe): return bpe.specialId(content)
        case let .wordPiece(wp): return wp.specialId(content)
        case let .pipeline(p): return p.specialId(content)
        }
    }

    public func tokenString(_ id: Int32) -> String {
        switch model {
        case let .byteLevelBPE(bpe): return bpe.tokenString(id)
        case let .wordPiece(wp): return wp.tokenString(id)
        case let .pipeline(p): return p.tokenString(id)
        }
    }

    /// BPE: `tokenizer.json` + `tokenizer_config.json` (+ `special_tokens_map.json` when the roles differ
    /// from pipe's defaults). WordPiece: `vocab.txt`, `tokenizer.json`, `tokenizer_config.json`,
    /// `special_tokens_map.json`.
    public func save(directory: String, modelMaxLength: Int = 1024) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func write(_ name: String, _ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name), options: .atomic)
        }
        switch model {
        case let .byteLevelBPE(bpe):
            if names == PretrainedTokenizer(bpe).names {
                try bpe.save(directory: directory, modelMaxLength: modelMaxLength)  // pipe's own files, byte for byte
                return
            }
            try write("tokenizer.json", bpe.huggingFaceJSON())
            try write("tokenizer_config.json", configJSON(modelMaxLength: modelMaxLength))
            try write("special_tokens_map.json", names.mapJSON())
        case let .wordPiece(wp):
            try write("vocab.txt", wp.vocabText(file: directory + "/vocab.txt"))
            try write("tokenizer.json", wp.huggingFaceJSON())
            try write("tokenizer_config.json", configJSON(modelMaxLength: modelMaxLength))
            try write("special_tokens_map.json", names.mapJSON())
        case let .pipeline(p):
            // The user's tokenizer.json as it was: transformers' generic class loads it unchanged.
            try p.json.write(to: URL(fileURLWithPath: directory + "/tokenizer.json"), options: .atomic)
            try write("tokenizer_config.json", configJSON(modelMaxLength: modelMaxLength))
            try write("special_tokens_map.json", names.mapJSON())
        }
    }

    /// `tokenizer_config.json`: the class `AutoTokenizer` should build, BERT's switches (matching the
    /// normaliser of tokenizer.json, which `BertTokenizerFast` checks), the roles and the length limit.
    public func configJSON(modelMaxLength: Int) -> String {
        let q = JSONFields.quoted
        var lines: [String] = []
        switch model {
        case let .byteLevelBPE(bpe):
            lines.append("  \"tokenizer_class\": \"PreTrainedTokenizerFast\"")
            lines.append("  \"add_prefix_space\": \(bpe.addPrefixSpace)")
        case let .wordPiece(wp):
            if wp.isBertTokenizer, let n = wp.normalizer {
                lines.append("  \"tokenizer_class\": \"\(n.composesCanonically ? "BertTokenizerLegacy" : "BertTokenizer")\"")
                lines.append("  \"do_lower_case\": \(n.lowercase)")
                lines.append("  \"tokenize_chinese_chars\": \(n.handleChineseChars)")
                lines.append("  \"strip_accents\": \(n.stripAccents.map { "\($0)" } ?? "null")")
                // The slow class reads vocab.txt, not tokenizer.json: added tokens travel in the config.
                if n.composesCanonically && !wp.addedTokens.isEmpty {
                    let entries = wp.addedTokens.sorted { $0.id < $1.id }.map { t in
                        "    \"\(t.id)\": {\"content\": \(q(t.content)), \"lstrip\": \(t.lstrip), \"normalized\": \(t.normalized), "
                            + "\"rstrip\": \(t.rstrip), \"single_word\": \(t.singleWord), \"special\": \(t.special)}"
                    }
                    lines.append("  \"added_tokens_decoder\": {\n" + entries.joined(separator: ",\n") + "\n  }")
                }
            } else {
                lines.append("  \"tokenizer_class\": \"PreTrainedTokenizerFast\"")
            }
        case .pipeline:
            lines.append("  \"tokenizer_class\": \"PreTrainedTokenizerFast\"")
        }
        for (key, token) in names.all where key != "additional_special_tokens" { lines.append("  \(q(key)): \(q(token))") }
        if !names.additional.isEmpty {
            lines.append("  \"additional_special_tokens\": [" + names.additional.map(q).joined(separator: ", ") + "]")
        }
        if cleanUpTokenizationSpaces { lines.append("  \"clean_up_tokenization_spaces\": true") }
        lines.append("  \"model_max_length\": \(modelMaxLength)")
        return "{\n" + lines.joined(separator: ",\n") + "\n}\n"
    }
}
