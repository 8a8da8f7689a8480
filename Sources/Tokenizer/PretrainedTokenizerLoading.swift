import Foundation
import JSONQuoting

extension PretrainedTokenizer {
    /// Loads the tokenizer of a model folder, whichever of these it holds (first match wins):
    /// - `tokenizer.json` with a BPE model and ByteLevel pre-tokenizer (GPT-2, pipe's own);
    /// - `tokenizer.json` with a WordPiece model (`BertTokenizerFast`);
    /// - `vocab.txt` (BERT), configured by `tokenizer_config.json` (`do_lower_case`,
    ///   `tokenize_chinese_chars`, `strip_accents`, special tokens) as `transformers` would;
    /// - `vocab.json` + `merges.txt` (GPT-2's slow-tokenizer files).
    /// Role names come from `tokenizer_config.json`, then `special_tokens_map.json`; `endOfText` and
    /// `pad` override them (see the type's documentation for the defaults).
    public static func load(directory: String, endOfText: String? = nil, pad: String? = nil) throws -> PretrainedTokenizer {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TokenizerFileError(file: directory, message: "not a directory (expected a model folder with tokenizer files)")
        }
        func path(_ name: String) -> String { directory + "/" + name }
        func exists(_ name: String) -> Bool { fm.fileExists(atPath: path(name)) }
        func read(_ name: String) throws -> Data {
            guard let data = fm.contents(atPath: path(name)) else {
                throw TokenizerFileError(file: path(name), message: "cannot read the file")
            }
            return data
        }
        var config = JSONValue.object([])
        if exists("tokenizer_config.json") { config = try JSONFields.object(read("tokenizer_config.json"), file: path("tokenizer_config.json")) }
        var specialMap = JSONValue.object([])
        if exists("special_tokens_map.json") { specialMap = try JSONFields.object(read("special_tokens_map.json"), file: path("special_tokens_map.json")) }
        let cleanUp = try cleanUpSetting(config, file: path("tokenizer_config.json"))
        func roleNames(_ defaults: SpecialTokenNames) throws -> SpecialTokenNames {
            var names = defaults
            try names.read(config, file: path("tokenizer_config.json"))
            try names.read(specialMap, file: path("special_tokens_map.json"))
            if let endOfText { names.eos = endOfText }
            if let pad { names.pad = pad }
            return names
        }

        // transformers 5's slow BERT class reads vocab.txt and ignores tokenizer.json.
        let legacyBert = config["tokenizer_class"]?.string == "BertTokenizerLegacy" && exists("vocab.txt")
        if exists("tokenizer.json") && !legacyBert {
            let file = path("tokenizer.json")
            let data = try read("tokenizer.json")
            let root = try JSONFields.object(data, file: file)
            do {
                return try fastPath(root: root, file: file, config: config, directory: directory, cleanUp: cleanUp, roleNames: roleNames)
            } catch let fastError as TokenizerFileError where fastError.file == file && !isFastShapedWordPiece(root) {
                // What the fast paths refuse, the general pipeline loads — unless the config names a
                // transformers class that rebuilds the pipeline from its own settings (GPT-2, BERT, …).
                let generic = config["tokenizer_class"]?.string.map { genericClasses.contains($0) } ?? true
                guard generic else {
                    if let name = config["tokenizer_class"]?.string, (try? TokenizerPipeline(root: root, data: data, file: file)) != nil {
                        throw TokenizerFileError(file: file, message: fastError.message + "; \(path("tokenizer_config.json")) names tokenizer_class "
                            + "\(quoted(name)), which transformers rebuilds from its own settings (name \"PreTrainedTokenizerFast\" there to use "
                            + "tokenizer.json as it is)")
                    }
                    throw fastError
                }
                let pipeline: TokenizerPipeline
                do { pipeline = try TokenizerPipeline(root: root, data: data, file: file) } catch let generalError as TokenizerFileError {
                    throw isFastShaped(root) ? fastError : generalError
                }
                return try PretrainedTokenizer(model: .pipeline(pipeline), names: roleNames(pipelineDefaults(pipeline)), source: directory)
            }
        }
        if exists("vocab.txt") {
            let file = path("vocab.txt")
            let vocabulary = try WordPieceTokenizer.vocabularyLines(read("vocab.txt"), file: file)
            var settings = WordPieceTokenizer.BertSettings()
            let configFile = path("tokenizer_config.json")
            func flag(_ key: String) throws -> Bool? {
                guard !JSONFields.isNull(config[key]) else { return nil }
                guard let b = config[key]?.bool else {
                    throw TokenizerFileError(file: configFile, message: "\(key) must be true or false, got \(config[key]?.quotedForMessage ?? "null")")
                }
                return b
            }
            settings.doLowerCase = try flag("do_lower_case") ?? true
            settings.tokenizeChineseChars = try flag("tokenize_chinese_chars") ?? true
            settings.stripAccents = try flag("strip_accents")
            settings.legacySlowTokenizer = legacyBert
            settings.neverSplit = config["never_split"]?.array?.compactMap(\.string) ?? []
            settings.names = try roleNames(.bert)
            // BERT's default [SEP]/[PAD]/[CLS]/[MASK] only where the vocabulary has them; a role the
            // config names explicitly must exist (checked when the tokenizer is built).
            let vocabularySet = Set(vocabulary)
            for key in ["sep_token", "pad_token", "cls_token", "mask_token"]
            where config[key] == nil && specialMap[key] == nil && endOfText != settings.names[key] && pad != settings.names[key] {
                if let token = settings.names[key], !vocabularySet.contains(token) { settings.names[key] = nil }
            }
            let added = try addedTokensDecoder(config, file: configFile) + addedTokensFile(directory)
            let wp = try WordPieceTokenizer(vocabulary: vocabulary, settings: settings, vocabFile: file, extraAddedTokens: added)
            return try PretrainedTokenizer(model: .wordPiece(wp), names: settings.names, cleanUpTokenizationSpaces: cleanUp, source: directory)
        }
        if exists("vocab.json") && exists("merges.txt") {
            var bpe = try bpeFromSlowFiles(directory, config: config, specialMap: specialMap)
            bpe.addPrefixSpace = try configuredPrefixSpace(config, file: path("tokenizer_config.json")) ?? prefixSpaceSetting(config, file: path("tokenizer_config.json")) ?? false
            return try PretrainedTokenizer(model: .byteLevelBPE(bpe), names: roleNames(bpeDefaults(bpe)), source: directory)
        }
        throw TokenizerFileError(file: directory, message: "no tokenizer found (expected tokenizer.json, vocab.txt, or vocab.json + merges.txt)")
    }

    /// The loaders of GPT-2's byte-level BPE and BERT's WordPiece `tokenizer.json` (the benchmarked paths).
    private static func fastPath(root: JSONValue, file: String, config: JSONValue, directory: String, cleanUp: Bool,
                                 roleNames: (SpecialTokenNames) throws -> SpecialTokenNames) throws -> PretrainedTokenizer {
        let configFile = directory + "/tokenizer_config.json"
        let model = root["model"] ?? .null
        let type = model["type"]
        switch type?.string {
        case "BPE":
            // GPT-2's byte-level BPE only: settings that change the algorithm are refused, not ignored.
            for key in ["continuing_subword_prefix", "end_of_word_suffix"] where !JSONFields.isNull(model[key]) && model[key]?.string != "" {
                throw TokenizerFileError(file: file, message: "model.\(key) must be empty or null (only GPT-2-style byte-level BPE is supported)")
            }
            if model["ignore_merges"]?.bool == true {
                throw TokenizerFileError(file: file, message: "model.ignore_merges true is not supported (whole words found in the vocabulary would skip the merges; "
                    + "only GPT-2-style byte-level BPE)")
            }
            if model["byte_fallback"]?.bool == true {
                throw TokenizerFileError(file: file, message: "model.byte_fallback is not supported (only GPT-2-style byte-level BPE)")
            }
            if let dropout = model["dropout"]?.number, dropout != 0 {
                throw TokenizerFileError(file: file, message: "model.dropout must be null (BPE dropout would make encodings random)")
            }
            var bpe = try BPETokenizer(huggingFaceJSON: root, file: file)
            if let configured = try configuredPrefixSpace(config, file: configFile) { bpe.addPrefixSpace = configured }
            return try PretrainedTokenizer(model: .byteLevelBPE(bpe), names: roleNames(bpeDefaults(bpe)), source: directory)
        case "WordPiece":
            let wp = try WordPieceTokenizer(tokenizerJSON: bertSettingsApplied(root, config: config, configFile: configFile), file: file)
            // BERT's role names where the tokenizer has those tokens; the config may rename them.
            var defaults = SpecialTokenNames(unk: wp.unkToken)
            for key in ["sep_token", "pad_token", "cls_token", "mask_token"] {
                if let t = SpecialTokenNames.bert[key], wp.id(of: t) != nil { defaults[key] = t }
            }
            return try PretrainedTokenizer(model: .wordPiece(wp), names: roleNames(defaults), cleanUpTokenizationSpaces: cleanUp,
                                           source: directory)
        default:
            throw TokenizerFileError(file: file, message: "model.type is \(type?.quotedForMessage ?? "missing"); supported: \"BPE\" and \"WordPiece\"")
        }
    }

    /// transformers classes that keep tokenizer.json's pipeline as it is.
    static let genericClasses: Set<String> = ["PreTrainedTokenizerFast", "TokenizersBackend"]

    /// A WordPiece file the fast path understands fully: its refusals are about the file, never a missing feature.
    static func isFastShapedWordPiece(_ root: JSONValue) -> Bool { root["model"]?["type"]?.string == "WordPiece" && isFastShaped(root) }

    /// Whether `tokenizer.json` has the shape of a fast path (so the fast path's refusal is the one to report).
    static func isFastShaped(_ root: JSONValue) -> Bool {
        let model = root["model"] ?? .null, pre = root["pre_tokenizer"] ?? .null
        switch model["type"]?.string {
        case "BPE":
            return JSONFields.isNull(root["normalizer"]) && pre["type"]?.string == "ByteLevel" && pre["use_regex"]?.bool != false
                && ["continuing_subword_prefix", "end_of_word_suffix"].allSatisfy { JSONFields.isNull(model[$0]) || model[$0]?.string == "" }
                && model["ignore_merges"]?.bool != true && model["byte_fallback"]?.bool != true
        case "WordPiece":
            return (JSONFields.isNull(root["normalizer"]) || root["normalizer"]?["type"]?.string == "BertNormalizer")
                && pre["type"]?.string == "BertPreTokenizer"
                && (JSONFields.isNull(root["decoder"]) || root["decoder"]?["type"]?.string == "WordPiece")
        default:
            return true
        }
    }

    /// End of text and friends for a general pipeline: GPT-2's `<|endoftext|>` for bos/eos when it is an
    /// added token, else `</s>`; the model's `unk_token`.
    static func pipelineDefaults(_ p: TokenizerPipeline) -> SpecialTokenNames {
        var names = SpecialTokenNames()
        if p.specialId(BPETokenizer.endOfText) != nil {
            names = SpecialTokenNames(bos: BPETokenizer.endOfText, eos: BPETokenizer.endOfText)
        }
        for key in ["sep_token", "pad_token", "cls_token", "mask_token", "unk_token"] {
            if let t = SpecialTokenNames.bert[key], p.specialId(t) != nil { names[key] = t }
        }
        return names
    }

    /// `clean_up_tokenization_spaces` (`transformers` 5 defaults to false; 4.x wrote true into most configs).
    static func cleanUpSetting(_ config: JSONValue, file: String) throws -> Bool {
        guard let value = config["clean_up_tokenization_spaces"], !JSONFields.isNull(value) else { return false }
        guard let b = value.bool else {
            throw TokenizerFileError(file: file, message: "clean_up_tokenization_spaces must be true or false, got \(value.quotedForMessage)")
        }
        return b
    }

    /// `transformers`' BertTokenizer(Fast) rebuilds the BertNormalizer of tokenizer.json from its own
    /// settings — do_lower_case (default true), strip_accents (null), tokenize_chinese_chars (true) of
    /// tokenizer_config.json — so a folder naming that class encodes with those, whatever tokenizer.json says.
    static func bertSettingsApplied(_ root: JSONValue, config: JSONValue, configFile: String) throws -> JSONValue {
        guard let name = config["tokenizer_class"]?.string, name == "BertTokenizer" || name == "BertTokenizerFast",
              case .object(var members) = root, let n = members.firstIndex(where: { $0.key == "normalizer" }),
              case .object(var normalizer) = members[n].value, root["normalizer"]?["type"]?.string == "BertNormalizer" else { return root }
        func setting(_ key: String, default value: JSONValue) throws -> JSONValue {
            guard let v = config[key], !JSONFields.isNull(v) else { return value }
            guard v.bool != nil else {
                throw TokenizerFileError(file: configFile, message: "\(key) must be true or false, got \(v.quotedForMessage)")
            }
            return v
        }
        let values = [("lowercase", try setting("do_lower_case", default: .bool(true))),
                      ("strip_accents", try setting("strip_accents", default: .null)),
                      ("handle_chinese_chars", try setting("tokenize_chinese_chars", default: .bool(true)))]
        for (key, value) in values {
            normalizer.removeAll { $0.key == key }
            normalizer.append(JSONMember(key, value))
        }
        members[n].value = .object(normalizer)
        return .object(members)
    }

    /// `transformers`' GPT-2 and RoBERTa tokenizer classes (also chosen, by the model's type, when the
    /// config names no class) rebuild the ByteLevel pre-tokenizer from `add_prefix_space` of
    /// tokenizer_config.json (default false), whatever tokenizer.json says; the generic classes (and
    /// `tokenizers` itself) keep tokenizer.json's. nil: tokenizer.json decides.
    static func configuredPrefixSpace(_ config: JSONValue, file: String) throws -> Bool? {
        let classes = ["GPT2Tokenizer", "GPT2TokenizerFast", "RobertaTokenizer", "RobertaTokenizerFast"]
        guard let name = config["tokenizer_class"]?.string else { return try prefixSpaceSetting(config, file: file) }
        guard classes.contains(name) else { return nil }
        return try prefixSpaceSetting(config, file: file) ?? false
    }

    static func prefixSpaceSetting(_ config: JSONValue, file: String) throws -> Bool? {
        guard let value = config["add_prefix_space"], !JSONFields.isNull(value) else { return nil }
        guard let b = value.bool else {
            throw TokenizerFileError(file: file, message: "add_prefix_space must be true or false, got \(value.quotedForMessage)")
        }
        return b
    }

    /// GPT-2's defaults: `<|endoftext|>` as bos, eos and unk when the vocabulary has it.
    static func bpeDefaults(_ bpe: BPETokenizer) -> SpecialTokenNames {
        guard bpe.specialId(BPETokenizer.endOfText) != nil else { return SpecialTokenNames() }
        let e = BPETokenizer.endOfText
        return SpecialTokenNames(bos: e, eos: e, unk: e)
    }

    /// `added_tokens_decoder` of `tokenizer_config.json`: {"id": {"content": …, "special": …, …}}.
    static func addedTokensDecoder(_ config: JSONValue, file: String) throws -> [AddedToken] {
        guard let decoder = config["added_tokens_decoder"], !JSONFields.isNull(decoder) else { return [] }
        guard let entries = decoder.members else { throw TokenizerFileError(file: file, message: "added_tokens_decoder must be an object") }
        return try entries.sorted { $0.key < $1.key }.map { entry in
            let key = entry.key, t = entry.value
            guard let id = Int32(key), id >= 0, let content = t["content"]?.string else {
                throw TokenizerFileError(file: file, message: "added_tokens_decoder[\(quoted(key))] needs a non-negative integer key and a \"content\" string")
            }
            let special = t["special"]?.bool ?? false
            return AddedToken(id: id, content: content, special: special, singleWord: t["single_word"]?.bool ?? false,
                              lstrip: t["lstrip"]?.bool ?? false, rstrip: t["rstrip"]?.bool ?? false,
                              normalized: t["normalized"]?.bool ?? !special)
        }
    }

    /// `added_tokens.json` of older `transformers` ({"token": id}): ordinary added tokens.
    static func addedTokensFile(_ directory: String) throws -> [AddedToken] {
        let file = directory + "/added_tokens.json"
        guard let data = FileManager.default.contents(atPath: file) else { return [] }
        let object = try JSONFields.object(data, file: file)
        return try (object.members ?? []).sorted { $0.key < $1.key }.map { member in
            let token = member.key
            guard let id = JSONFields.int(member.value), id >= 0 else {
                throw TokenizerFileError(file: file, message: "\(quoted(token)) must map to a non-negative integer id, got \(member.value.quotedForMessage)")
            }
            return AddedToken(id: Int32(id), content: token, special: false)
        }
    }

    /// GPT-2's `vocab.json` + `merges.txt`, assembled into the `tokenizer.json` `transformers` would
    /// convert them to (ByteLevel, special tokens of the config as added tokens).
    static func bpeFromSlowFiles(_ directory: String, config: JSONValue, specialMap: JSONValue) throws -> BPETokenizer {
        let vocabFile = directory + "/vocab.json", mergesFile = directory + "/merges.txt"
        guard let vocabData = FileManager.default.contents(atPath: vocabFile) else {
            throw TokenizerFileError(file: vocabFile, message: "cannot read the file")
        }
        let vocab = try JSONFields.object(vocabData, file: vocabFile)
        guard let mergesData = FileManager.default.contents(atPath: mergesFile), let mergesText = String(data: mergesData, encoding: .utf8) else {
            throw TokenizerFileError(file: mergesFile, message: "cannot read the file as UTF-8 text")
        }
        var merges: [JSONValue] = []
        for (i, line) in mergesText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if l.isEmpty || (i == 0 && l.hasPrefix("#version")) { continue }
            let parts = l.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw TokenizerFileError(file: mergesFile, message: "line \(i + 1) must be two tokens separated by one space") }
            merges.append(.array(parts.map { .string(String($0)) }))
        }
        var idOfToken: [String: JSONValue] = [:]
        for member in vocab.members ?? [] { idOfToken[member.key] = member.value }
        var names = SpecialTokenNames()
        if idOfToken[BPETokenizer.endOfText] != nil { names = SpecialTokenNames(bos: BPETokenizer.endOfText, eos: BPETokenizer.endOfText, unk: BPETokenizer.endOfText) }
        try names.read(config, file: directory + "/tokenizer_config.json")
        try names.read(specialMap, file: directory + "/special_tokens_map.json")
        // Tokens listed with their flags (added_tokens_decoder, then added_tokens.json, as `transformers`
        // reads them; ids may lie past vocab.json), then each named role found in vocab.json as special.
        var tokens = try addedTokensDecoder(config, file: directory + "/tokenizer_config.json") + addedTokensFile(directory)
        for (_, token) in names.all {
            guard let id = JSONFields.int(idOfToken[token]) else { continue }
            tokens.append(AddedToken(id: Int32(id), content: token, special: true))
        }
        var tokenOfId: [Int: String] = [:]
        for (token, id) in idOfToken { if let id = JSONFields.int(id) { tokenOfId[id] = token } }
        var added: [JSONValue] = []
        var seen = Set<String>()
        for t in tokens where seen.insert(t.content).inserted {
            if let other = tokenOfId[Int(t.id)], other != t.content {
                throw TokenizerFileError(file: directory, message: "the added token \(quoted(t.content)) (added_tokens.json or added_tokens_decoder) "
                    + "has id \(t.id), which vocab.json gives to \(quoted(other)); give it an id past the vocabulary")
            }
            added.append(.object([JSONMember("id", .number(Double(t.id))), JSONMember("content", .string(t.content)),
                                  JSONMember("single_word", .bool(t.singleWord)), JSONMember("lstrip", .bool(t.lstrip)),
                                  JSONMember("rstrip", .bool(t.rstrip)), JSONMember("normalized", .bool(t.normalized)),
                                  JSONMember("special", .bool(t.special))]))
        }
        let root = JSONValue.object([
            JSONMember("added_tokens", .array(added)), JSONMember("normalizer", .null),
            JSONMember("pre_tokenizer", .object([JSONMember("type", .string("ByteLevel")), JSONMember("add_prefix_space", .bool(false)),
                                                 JSONMember("use_regex", .bool(true))])),
            JSONMember("model", .object([JSONMember("type", .string("BPE")), JSONMember("vocab", vocab), JSONMember("merges", .array(merges))])),
        ])
        return try BPETokenizer(huggingFaceJSON: root, file: vocabFile)
    }
}
