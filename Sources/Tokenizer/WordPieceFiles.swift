import Foundation
import JSONQuoting

/// WordPiece tokenizers on disk: `tokenizer.json` (`BertTokenizerFast`), and BERT's `vocab.txt` with the
/// `BertTokenizer` settings of `tokenizer_config.json` — read, and written back so `transformers` loads them.
extension WordPieceTokenizer {
    // MARK: tokenizer.json

    /// A `tokenizer.json` object whose `model.type` is `WordPiece`.
    public init(tokenizerJSON root: JSONValue, file: String) throws {
        func fail(_ message: String) -> TokenizerFileError { TokenizerFileError(file: file, message: message) }
        guard let model = root["model"], model.members != nil else { throw fail("missing \"model\" object") }
        guard model["type"]?.string == "WordPiece" else { throw fail("model.type must be \"WordPiece\"") }
        guard let vocab = model["vocab"]?.members else { throw fail("model.vocab must be an object {token: id}") }
        var slots = [String?](repeating: nil, count: vocab.count)
        for member in vocab.sorted(by: { $0.key < $1.key }) {
            let token = member.key
            guard let id = JSONFields.int(member.value) else {
                throw fail("model.vocab[\(quoted(token))] is not an integer id, got \(member.value.quotedForMessage)")
            }
            guard id >= 0 && id < vocab.count else {
                throw fail("model.vocab[\(quoted(token))] = \(id) is out of range (ids must run 0..<\(vocab.count), the vocabulary size)")
            }
            if let other = slots[id] { throw fail("model.vocab gives id \(id) to both \(quoted(other)) and \(quoted(token))") }
            slots[id] = token
        }
        // Every id in 0..<count taken once ⇔ no gaps (pigeonhole), so compactMap keeps the order by id.
        let vocabulary = slots.compactMap { $0 }
        let unk = try Self.string(model, "unk_token", default: "[UNK]", fail: fail, path: "model.unk_token")
        let prefix = try Self.string(model, "continuing_subword_prefix", default: "##", fail: fail, path: "model.continuing_subword_prefix")
        var maxChars = 100
        if !JSONFields.isNull(model["max_input_chars_per_word"]) {
            guard let m = JSONFields.int(model["max_input_chars_per_word"]), m >= 0 else {
                throw fail("model.max_input_chars_per_word must be a non-negative integer")
            }
            maxChars = m
        }

        let normalizer = try Self.normalizer(root["normalizer"], fail: fail)
        let pre = root["pre_tokenizer"]
        guard pre?["type"]?.string == "BertPreTokenizer" else {
            let type = pre?["type"]?.quotedForMessage ?? "missing"
            throw fail("pre_tokenizer is \(type); WordPiece tokenizers are supported with the \"BertPreTokenizer\" only")
        }
        var decoder: Decoder?
        if let d = root["decoder"], d.members != nil {
            guard d["type"]?.string == "WordPiece" else {
                throw fail("decoder.type is \(d["type"]?.quotedForMessage ?? "missing"); only \"WordPiece\" (or null) is supported with a WordPiece model")
            }
            decoder = Decoder(prefix: d["prefix"]?.string ?? "##", cleanup: d["cleanup"]?.bool ?? true)
        } else if !JSONFields.isNull(root["decoder"]) {
            throw fail("decoder must be an object or null")
        }

        var added: [AddedToken] = []
        if !JSONFields.isNull(root["added_tokens"]) {
            guard let items = root["added_tokens"]?.array else { throw fail("added_tokens must be a list") }
            for (i, t) in items.enumerated() {
                guard let id = JSONFields.int(t["id"]), let content = t["content"]?.string else {
                    throw fail("added_tokens[\(i)] needs an integer \"id\" and a string \"content\"")
                }
                let special = t["special"]?.bool ?? false
                added.append(AddedToken(id: Int32(id), content: content, special: special,
                                        singleWord: t["single_word"]?.bool ?? false,
                                        lstrip: t["lstrip"]?.bool ?? false, rstrip: t["rstrip"]?.bool ?? false,
                                        normalized: t["normalized"]?.bool ?? !special))
            }
        }
        let post = try Self.postProcessor(root["post_processor"], vocabulary: vocabulary, added: added, fail: fail)
        do {
            try self.init(vocabulary: vocabulary, unkToken: unk, continuingSubwordPrefix: prefix, maxInputCharsPerWord: maxChars,
                          normalizer: normalizer, addedTokens: added, decoder: decoder, postProcessor: post)
        } catch let error as ConfigurationError {
            throw fail("\(error)")
        }
        if let bad = (post.prefix + post.suffix).first(where: { Int($0) >= vocabSize }) {
            throw fail("post_processor uses id \(bad), outside the vocabulary of \(vocabSize) tokens")
        }
    }

    private static func string(_ object: JSONValue, _ key: String, default value: String,
                               fail: (String) -> TokenizerFileError, path: String) throws -> String {
        if JSONFields.isNull(object[key]) { return value }
        guard let s = object[key]?.string else { throw fail("\(path) must be a string, got \(object[key]?.quotedForMessage ?? "null")") }
        return s
    }

    private static func normalizer(_ value: JSONValue?, fail: (String) -> TokenizerFileError) throws -> BertNormalizer? {
        guard let n = value, !n.isNull else { return nil }
        guard n["type"]?.string == "BertNormalizer" else {
            let type = n.members == nil ? "not an object" : n["type"]?.quotedForMessage ?? "missing"
            throw fail("normalizer is \(type); WordPiece tokenizers are supported with \"BertNormalizer\" or null")
        }
        var strip: Bool?
        if !JSONFields.isNull(n["strip_accents"]) {
            guard let s = n["strip_accents"]?.bool else { throw fail("normalizer.strip_accents must be true, false or null") }
            strip = s
        }
        return BertNormalizer(cleanText: n["clean_text"]?.bool ?? true,
                              handleChineseChars: n["handle_chinese_chars"]?.bool ?? true,
                              stripAccents: strip, lowercase: n["lowercase"]?.bool ?? true)
    }

    /// `TemplateProcessing` (single-sequence template), `BertProcessing`, or null.
    private static func postProcessor(_ value: JSONValue?, vocabulary: [String], added: [AddedToken],
                                      fail: (String) -> TokenizerFileError) throws -> PostProcessor {
        guard let p = value, !p.isNull else { return PostProcessor() }
        guard let type = p["type"]?.string else { throw fail("post_processor must be an object with a \"type\"") }
        switch type {
        case "BertProcessing":
            guard let cls = p["cls"]?.array, cls.count == 2, let clsId = JSONFields.int(cls[1]),
                  let sep = p["sep"]?.array, sep.count == 2, let sepId = JSONFields.int(sep[1]) else {
                throw fail("post_processor (BertProcessing) needs \"cls\" and \"sep\" as [token, id]")
            }
            return PostProcessor(prefix: [Int32(clsId)], suffix: [Int32(sepId)])
        case "TemplateProcessing":
            guard let single = p["single"]?.array else { throw fail("post_processor.single must be a list") }
            let specials = p["special_tokens"] ?? .object([])
            var result = PostProcessor()
            var seenSequence = false
            for (i, item) in single.enumerated() {
                let piece = item
                guard piece.members != nil else { throw fail("post_processor.single[\(i)] must be an object") }
                if piece["Sequence"] != nil { seenSequence = true; continue }
                guard let name = piece["SpecialToken"]?["id"]?.string else {
                    throw fail("post_processor.single[\(i)] must be {\"Sequence\": …} or {\"SpecialToken\": …}")
                }
                guard let ids = specials[name]?["ids"]?.array else {
                    throw fail("post_processor.special_tokens lacks \(quoted(name)) used by single[\(i)]")
                }
                let values = try ids.map { v -> Int32 in
                    guard let id = JSONFields.int(v), id >= 0 else { throw fail("post_processor.special_tokens[\(quoted(name))].ids must be integers") }
                    return Int32(id)
                }
                if seenSequence { result.suffix += values } else { result.prefix += values }
            }
            return result
        default:
            throw fail("post_processor type \(quoted(type)) is not supported with a WordPiece model (TemplateProcessing, BertProcessing or null)")
        }
    }

    // MARK: vocab.txt + tokenizer_config.json

    /// The lines of a BERT `vocab.txt`: one token per line, line n is id n (a final newline ends the
    /// last line; a trailing "\r" is dropped).
    public static func vocabularyLines(_ data: Data, file: String) throws -> [String] {
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerFileError(file: file, message: "not valid UTF-8")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasSuffix("\r") ? String(line.unicodeScalars.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { throw TokenizerFileError(file: file, message: "the vocabulary is empty (one token per line expected)") }
        var lineOf: [String: Int] = [:]
        for (i, token) in lines.enumerated() {
            if let first = lineOf[token] {
                throw TokenizerFileError(file: file, message: "line \(i + 1) repeats the token \(quoted(token)) of line \(first + 1); every token must be unique")
            }
            lineOf[token] = i
        }
        return lines
    }

    /// BERT settings as `BertTokenizer` reads them from `tokenizer_config.json` (and `special_tokens_map.json`).
    public struct BertSettings: Sendable, Equatable {
        public var doLowerCase = true
        public var tokenizeChineseChars = true
        /// `tokenizer_class: BertTokenizerLegacy` (transformers 5's slow BERT tokenizer): NFC first.
        public var legacySlowTokenizer = false
        public var stripAccents: Bool?
        public var names = SpecialTokenNames.bert
        /// Read but not applied: `BertTokenizerFast` (what `AutoTokenizer` returns) ignores it too.
        public var neverSplit: [String] = []
        public init() {}
    }

    /// A tokenizer from BERT's `vocab.txt` built the way `transformers` converts `BertTokenizer` to
    /// `BertTokenizerFast`: BertNormalizer(clean_text, handle_chinese_chars = tokenize_chinese_chars,
    /// strip_accents, lowercase = do_lower_case), BERT pre-tokenizer, WordPiece(unk, "##", 100), the named
    /// special tokens as special added tokens, post-processor [CLS] $A [SEP].
    public init(vocabulary: [String], settings: BertSettings, vocabFile: String, extraAddedTokens: [AddedToken] = []) throws {
        var idOf: [String: Int32] = [:]
        for (i, t) in vocabulary.enumerated() { idOf[t] = Int32(i) }
        // Tokens listed with their flags (added_tokens_decoder, added_tokens.json) first; then each named
        // role not among them becomes a special token of the vocabulary.
        var added: [AddedToken] = []
        for token in extraAddedTokens where !added.contains(where: { $0.content == token.content }) { added.append(token) }
        for (role, name) in settings.names.all where !added.contains(where: { $0.content == name }) {
            // bos/eos are resolved (and a missing one reported) by PretrainedTokenizer, which also takes overrides.
            if role == "bos_token" || role == "eos_token", idOf[name] == nil { continue }
            guard let id = idOf[name] else {
                throw TokenizerFileError(file: vocabFile, message: "\(role) \(quoted(name)) is not in the vocabulary (fix the token in tokenizer_config.json or add it to vocab.txt)")
            }
            added.append(AddedToken(id: id, content: name, special: true))
        }
        added.sort { $0.id < $1.id }
        var post = PostProcessor()
        if let cls = settings.names.cls.flatMap({ idOf[$0] }), let sep = settings.names.sep.flatMap({ idOf[$0] }) {
            post = PostProcessor(prefix: [cls], suffix: [sep])
        }
        do {
            try self.init(vocabulary: vocabulary, unkToken: settings.names.unk ?? "[UNK]", normalizer: BertNormalizer(
                cleanText: true, handleChineseChars: settings.tokenizeChineseChars, stripAccents: settings.stripAccents,
                lowercase: settings.doLowerCase, composesCanonically: settings.legacySlowTokenizer), addedTokens: added, decoder: Decoder(), postProcessor: post)
        } catch let error as ConfigurationError {
            throw TokenizerFileError(file: vocabFile, message: "\(error)")
        }
    }

    // MARK: Writing

    /// `vocab.txt`: the model vocabulary, one token per line.
    public func vocabText(file: String = "vocab.txt") throws -> String {
        for (id, token) in vocabulary.enumerated() where token.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            throw TokenizerFileError(file: file, message: "token \(id) \(quoted(token)) contains a line break and cannot be written one per line")
        }
        return vocabulary.joined(separator: "\n") + "\n"
    }

    /// The `tokenizer.json` text (`BertTokenizerFast` layout; vocab ordered by id, one entry per line).
    public func huggingFaceJSON() -> String {
        let q = JSONFields.quoted
        var lines = ["{", "  \"version\": \"1.0\",", "  \"truncation\": null,", "  \"padding\": null,"]
        let added = addedTokens.sorted { $0.id < $1.id }.map {
            "    {\"id\": \($0.id), \"content\": \(q($0.content)), \"single_word\": \($0.singleWord), \"lstrip\": \($0.lstrip), "
                + "\"rstrip\": \($0.rstrip), \"normalized\": \($0.normalized), \"special\": \($0.special)}"
        }
        lines.append(added.isEmpty ? "  \"added_tokens\": []," : "  \"added_tokens\": [\n" + added.joined(separator: ",\n") + "\n  ],")
        if let n = normalizer {
            let strip = n.stripAccents.map { "\($0)" } ?? "null"
            lines.append("  \"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": \(n.cleanText), \"handle_chinese_chars\": "
                + "\(n.handleChineseChars), \"strip_accents\": \(strip), \"lowercase\": \(n.lowercase)},")
        } else {
            lines.append("  \"normalizer\": null,")
        }
        lines.append("  \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},")
        lines.append("  \"post_processor\": \(postProcessorJSON()),")
        if let d = decoder {
            lines.append("  \"decoder\": {\"type\": \"WordPiece\", \"prefix\": \(q(d.prefix)), \"cleanup\": \(d.cleanup)},")
        } else {
            lines.append("  \"decoder\": null,")
        }
        lines.append("  \"model\": {")
        lines.append("    \"type\": \"WordPiece\", \"unk_token\": \(q(unkToken)), \"continuing_subword_prefix\": \(q(continuingSubwordPrefix)), "
            + "\"max_input_chars_per_word\": \(maxInputCharsPerWord),")
        let vocab = vocabulary.enumerated().map { "      \(q($0.element)): \($0.offset)" }
        lines.append("    \"vocab\": {\n" + vocab.joined(separator: ",\n") + "\n    }")
        lines.append("  }")
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A TemplateProcessing equivalent to `postProcessor` (null when it adds nothing).
    func postProcessorJSON() -> String {
        guard !postProcessor.prefix.isEmpty || !postProcessor.suffix.isEmpty else { return "null" }
        let q = JSONFields.quoted
        func name(_ id: Int32) -> String { token(of: id) ?? "\(id)" }
        func special(_ id: Int32) -> String { "{\"SpecialToken\": {\"id\": \(q(name(id))), \"type_id\": 0}}" }
        let single = postProcessor.prefix.map(special) + ["{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}"] + postProcessor.suffix.map(special)
        let pair = postProcessor.prefix.map(special) + ["{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}"] + postProcessor.suffix.map(special)
            + ["{\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}"] + postProcessor.suffix.map { special($0).replacingOccurrences(of: "\"type_id\": 0", with: "\"type_id\": 1") }
        var seen = Set<Int32>()
        let ids = (postProcessor.prefix + postProcessor.suffix).filter { seen.insert($0).inserted }
        let specials = ids.map { "\(q(name($0))): {\"id\": \(q(name($0))), \"ids\": [\($0)], \"tokens\": [\(q(name($0)))]}" }
        return "{\"type\": \"TemplateProcessing\", \"single\": [\(single.joined(separator: ", "))], \"pair\": [\(pair.joined(separator: ", "))], "
            + "\"special_tokens\": {\(specials.joined(separator: ", "))}}"
    }

    /// Whether `transformers`' `BertTokenizer(Fast)` describes this pipeline (BERT normaliser with clean
    /// text, WordPiece decoder with "##"); otherwise the generic `PreTrainedTokenizerFast` is named.
    var isBertTokenizer: Bool {
        normalizer?.cleanText == true && decoder?.prefix == "##" && continuingSubwordPrefix == "##"
    }
}
