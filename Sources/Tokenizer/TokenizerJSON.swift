import JSONQuoting
import Foundation

/// Reading and writing `tokenizer.json` in the Hugging Face `tokenizers` format (model `BPE`,
/// `ByteLevel` pre-tokenizer / post-processor / decoder, special tokens as added tokens), so
/// `PreTrainedTokenizerFast(tokenizer_file: "tokenizer.json")` or `AutoTokenizer.from_pretrained(dir)`
/// loads what `pipe` trained.
public struct TokenizerFileError: Error, CustomStringConvertible {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}

extension BPETokenizer {
    /// The `tokenizer.json` text: deterministic (vocab ordered by id, merges in rank order, one entry per line).
    public func huggingFaceJSON() -> String {
        func q(_ s: String) -> String { tokenizerQuoted(s) }
        var lines: [String] = ["{", "  \"version\": \"1.0\",", "  \"truncation\": null,", "  \"padding\": null,"]
        let added = addedTokens.map {
            "    {\"id\": \($0.id), \"content\": \(q($0.content)), \"single_word\": \($0.singleWord), \"lstrip\": \($0.lstrip), "
                + "\"rstrip\": \($0.rstrip), \"normalized\": \($0.normalized), \"special\": \($0.special)}"
        }
        lines.append("  \"added_tokens\": [\n" + added.joined(separator: ",\n") + "\n  ],")
        lines.append("  \"normalizer\": null,")
        lines.append("  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": \(addPrefixSpace), \"trim_offsets\": true, \"use_regex\": true},")
        lines.append("  \"post_processor\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, \"use_regex\": true},")
        lines.append("  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},")
        lines.append("  \"model\": {")
        lines.append("    \"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": null, "
            + "\"end_of_word_suffix\": null, \"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,")
        let vocab = (0..<vocabSize).map { "      \(q(tokenString(Int32($0)))): \($0)" }
        lines.append("    \"vocab\": {\n" + vocab.joined(separator: ",\n") + "\n    },")
        let merges = merges.map { "      [\(q(tokenString($0.left))), \(q(tokenString($0.right)))]" }
        lines.append("    \"merges\": [\n" + merges.joined(separator: ",\n") + "\n    ]")
        lines.append("  }")
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `tokenizer_config.json` for `transformers` (fast tokenizer, GPT-2-style special tokens).
    public func huggingFaceConfigJSON(modelMaxLength: Int) -> String {
        let pad = tokenString(padId), eos = tokenString(endOfTextId)
        return """
        {
          "tokenizer_class": "PreTrainedTokenizerFast",
          "add_prefix_space": \(addPrefixSpace),
          "bos_token": \(tokenizerQuoted(eos)),
          "eos_token": \(tokenizerQuoted(eos)),
          "unk_token": \(tokenizerQuoted(eos)),
          "pad_token": \(tokenizerQuoted(pad)),
          "model_max_length": \(modelMaxLength)
        }

        """
    }

    /// Writes `tokenizer.json` and `tokenizer_config.json` into `directory`.
    public func save(directory: String, modelMaxLength: Int = 1024) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(huggingFaceJSON().utf8).write(to: URL(fileURLWithPath: directory + "/tokenizer.json"), options: .atomic)
        try Data(huggingFaceConfigJSON(modelMaxLength: modelMaxLength).utf8)
            .write(to: URL(fileURLWithPath: directory + "/tokenizer_config.json"), options: .atomic)
    }

    /// Loads a byte-level BPE `tokenizer.json` (ours, or e.g. GPT-2's). `path` may be the file or its directory.
    public init(contentsOf path: String) throws {
        var file = path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            file = path + "/tokenizer.json"
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TokenizerFileError(file: file, message: "cannot read the file (missing? run the tokenise stage first)")
        }
        try self.init(huggingFaceJSON: data, file: file)
    }

    public init(huggingFaceJSON data: Data, file: String = "tokenizer.json") throws {
        try self.init(huggingFaceJSON: JSONFields.object(data, file: file), file: file)
    }

    /// A parsed `tokenizer.json` object (`file` names it in errors).
    init(huggingFaceJSON root: JSONValue, file: String) throws {
        func fail(_ message: String) -> TokenizerFileError { TokenizerFileError(file: file, message: message) }
        guard let model = root["model"], model.members != nil else { throw fail("missing \"model\"") }
        if let type = model["type"], type.string != "BPE" {
            throw fail("model.type is \(type.string ?? type.quotedForMessage); only byte-level BPE tokenizers are supported")
        }
        if !JSONFields.isNull(root["normalizer"]) {
            throw fail("\"normalizer\" must be null (a normalising tokenizer is not supported)")
        }
        guard let pre = root["pre_tokenizer"], pre["type"]?.string == "ByteLevel",
              (pre["use_regex"].map { $0.bool } ?? true) == true, let prefixSpace = pre["add_prefix_space"].map({ $0.bool }) ?? false else {
            throw fail("pre_tokenizer must be ByteLevel with use_regex true (and add_prefix_space true or false)")
        }
        guard let vocab = model["vocab"]?.members else { throw fail("model.vocab must be an object") }
        var added: [AddedToken] = []
        if !JSONFields.isNull(root["added_tokens"]) {
            guard let items = root["added_tokens"]?.array else { throw fail("added_tokens must be a list") }
            for (i, item) in items.enumerated() {
                guard let id = JSONFields.int(item["id"]), let content = item["content"]?.string else {
                    throw fail("added_tokens[\(i)] needs an integer \"id\" and a string \"content\"")
                }
                // Absent flags default as in `tokenizers`: special true (the older files list only specials).
                let special = item["special"]?.bool ?? true
                added.append(AddedToken(id: Int32(id), content: content, special: special, singleWord: item["single_word"]?.bool ?? false,
                                        lstrip: item["lstrip"]?.bool ?? false, rstrip: item["rstrip"]?.bool ?? false,
                                        normalized: item["normalized"]?.bool ?? !special))
            }
        }
        added.sort { $0.id < $1.id }
        let specialIds = Set(added.map(\.id))
        var slots: [[UInt8]?] = []
        func place(_ id: Int, _ bytes: [UInt8]) throws {
            guard id >= 0 && id < 10_000_000 else { throw fail("token id \(id) out of range") }
            if id >= slots.count { slots += [[UInt8]?](repeating: nil, count: id + 1 - slots.count) }
            if let existing = slots[id], existing != bytes { throw fail("token id \(id) is used twice in model.vocab") }
            slots[id] = bytes
        }
        var byteIdOfToken: [String: Int32] = [:]
        byteIdOfToken.reserveCapacity(vocab.count)
        for member in vocab {
            guard let id = JSONFields.int(member.value) else {
                throw fail("model.vocab[\(tokenizerQuoted(member.key))] must be an integer id, got \(member.value.quotedForMessage)")
            }
            byteIdOfToken[member.key] = Int32(id)
            if specialIds.contains(Int32(id)) { try place(id, Array(member.key.utf8)); continue }
            guard let bytes = ByteLevel.decode(member.key) else {
                throw fail("model.vocab token \(tokenizerQuoted(member.key)) is not a byte-level string")
            }
            try place(id, bytes)
        }
        for token in added { try place(Int(token.id), Array(token.content.utf8)) }
        var tokenBytes: [[UInt8]] = []
        tokenBytes.reserveCapacity(slots.count)
        for (id, slot) in slots.enumerated() {
            guard let bytes = slot else { throw fail("token id \(id) is missing from model.vocab (ids must be dense)") }
            tokenBytes.append(bytes)
        }
        var merges: [Merge] = []
        let mergeEntries: [JSONValue]
        if JSONFields.isNull(model["merges"]) { mergeEntries = [] } else {
            guard let entries = model["merges"]?.array else { throw fail("model.merges must be a list") }
            mergeEntries = entries
        }
        merges.reserveCapacity(mergeEntries.count)
        for (rank, entry) in mergeEntries.enumerated() {
            let pair: (String, String)
            if let a = entry.array, a.count == 2, let left = a[0].string, let right = a[1].string {
                pair = (left, right)
            } else if let s = entry.string, case let parts = s.split(separator: " ", omittingEmptySubsequences: false), parts.count == 2 {
                pair = (String(parts[0]), String(parts[1]))  // legacy "a b" form
            } else {
                throw fail("model.merges[\(rank)] must be a pair of strings")
            }
            guard let l = byteIdOfToken[pair.0], let r = byteIdOfToken[pair.1], let m = byteIdOfToken[pair.0 + pair.1] else {
                throw fail("model.merges[\(rank)] \([pair.0, pair.1]) refers to tokens missing from model.vocab")
            }
            merges.append(Merge(left: l, right: r, result: m))
        }
        self.init(tokenBytes: tokenBytes, merges: merges, addedTokens: added)
        addPrefixSpace = prefixSpace
        guard !byteIds.contains(-1) else { throw fail("model.vocab lacks a token for some of the 256 bytes") }
    }
}

/// tokenizer.json strings: JSON's required escapes plus DEL, other text as raw UTF-8.
private func tokenizerQuoted(_ s: String) -> String { jsonQuoted(s, alsoEscape: [0x7F]) }
