import Foundation
import JSONQuoting
import Testing
@testable import Tokenizer

@Suite("WordPiece and pretrained tokenizers")
struct WordPieceTests {
    static let goldens = TokenizerGoldenTests.goldens

    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "wordpiece-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func write(_ dir: String, _ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
    }

    static func small(_ normalizer: BertNormalizer? = BertNormalizer(lowercase: false)) throws -> WordPieceTokenizer {
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "aff", "hello", ",", "!", "'", "t", "don",
                     "好", "看", "##看", "x", "é", "e"]
        let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"].enumerated().map { AddedToken(id: Int32($0.offset), content: $0.element, special: true) }
        return try WordPieceTokenizer(vocabulary: vocab, normalizer: normalizer, addedTokens: specials,
                                      postProcessor: .init(prefix: [2], suffix: [3]))
    }

    @Test func normalizerFollowsBERT() {
        func norm(_ s: String, _ n: BertNormalizer) -> String {
            var out: [UInt32] = []
            n.normalize(s.unicodeScalars.map(\.value), into: &out)
            return String(String.UnicodeScalarView(out.compactMap(Unicode.Scalar.init)))
        }
        let uncased = BertNormalizer()
        #expect(norm("Héllo\tWÖRLD\u{0}\u{200B}", uncased) == "hello world")
        #expect(norm("好A", uncased) == " 好 a")
        #expect(norm("Ä", BertNormalizer(lowercase: false)) == "Ä")
        #expect(norm("Ä", BertNormalizer(stripAccents: true, lowercase: false)) == "A")
        #expect(norm("Ä", BertNormalizer(stripAccents: false, lowercase: true)) == "ä")
        #expect(norm("好", BertNormalizer(handleChineseChars: false)) == "好")
        // Canonical order: the below mark (class 220) moves before the above one (230), then both vanish.
        #expect(norm("a\u{301}\u{316}", BertNormalizer(cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false)) == "a")
    }

    @Test func greedyLongestMatchAndUnknownWords() throws {
        let wp = try Self.small()
        #expect(wp.encode("unaffable") == [4, 5, 6])
        #expect(wp.encode("affable") == [7, 6])
        #expect(wp.encode("unaffablez") == [wp.unkId])  // one uncovered position makes the whole word [UNK]
        #expect(wp.encode("好看") == [14, 15])           // CJK split: no ##看
        #expect(wp.encode(String(repeating: "x", count: 101)) == [wp.unkId])
        #expect(wp.encode("hello, don't!") == [8, 9, 13, 11, 12, 10])
    }

    @Test func plainEncodingNeverAddsCLSAndSEP() throws {
        let wp = try Self.small()
        #expect(wp.encode("hello") == [8])
        #expect(wp.encode("hello", addSpecialTokens: true) == [2, 8, 3])
        let pretrained = try PretrainedTokenizer(model: .wordPiece(wp), names: .init(unk: "[UNK]", sep: "[SEP]", pad: "[PAD]", cls: "[CLS]"), source: "test")
        #expect(pretrained.encode("hello") == [8])
        // Special-token text is matched in the raw text, or encoded as text when not allowed.
        #expect(pretrained.encode("hello[SEP]") == [8, 3])
        #expect(pretrained.encode("hello[SEP]", allowSpecial: false) == [8, wp.unkId, wp.unkId, wp.unkId])
    }

    @Test func decodesLikeTheWordPieceDecoder() throws {
        let wp = try Self.small()
        #expect(wp.decode([4, 5, 6]) == "unaffable")
        #expect(wp.decode([8, 9, 13, 11, 12, 10]) == "hello, don ' t!")
        #expect(wp.decode([2, 8, 3]) == "[CLS] hello [SEP]")
        #expect(wp.decode([2, 8, 3], skipSpecial: true) == "hello")
        #expect(wp.decode([5, 8]) == "##aff hello")   // a leading ## piece keeps its prefix
        #expect(wp.decode([8, 999, -1]) == "hello")   // ids outside the vocabulary are dropped
    }

    @Test func endOfTextConventions() throws {
        let dir = Self.goldens + "/wordpiece-cased-vocab"
        let standard = try PretrainedTokenizer.load(directory: dir)
        guard case let .wordPiece(wp) = standard.model else { Issue.record("not WordPiece"); return }
        #expect(standard.endOfTextId == wp.id(of: "[SEP]"))
        #expect(standard.padId == wp.id(of: "[PAD]"))
        #expect(standard.beginOfTextId == wp.id(of: "[CLS]"))
        let demo = try PretrainedTokenizer.load(directory: dir, endOfText: "[PAD]")
        #expect(demo.endOfTextId == wp.id(of: "[PAD]"))
        #expect(demo.padId == wp.id(of: "[PAD]"))
        #expect(demo.names.eos == "[PAD]")
        do {
            _ = try PretrainedTokenizer.load(directory: dir, endOfText: "<|endoftext|>")
            Issue.record("accepted an end-of-text token outside the vocabulary")
        } catch {
            #expect("\(error)".contains("eos_token \"<|endoftext|>\" is not a token"))
        }
    }

    @Test func savedWordPieceReloadsIdenticallyAndDeterministically() throws {
        let source = try PretrainedTokenizer.load(directory: Self.goldens + "/wordpiece-cased-vocab", endOfText: "[PAD]")
        let a = try Self.temporaryDirectory(), b = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        try source.save(directory: a, modelMaxLength: 1024)
        let reloaded = try PretrainedTokenizer.load(directory: a)
        try reloaded.save(directory: b, modelMaxLength: 1024)
        for name in ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] {
            let x = try Data(contentsOf: URL(fileURLWithPath: a + "/" + name)), y = try Data(contentsOf: URL(fileURLWithPath: b + "/" + name))
            #expect(x == y, "\(name) changed on a save → load → save round trip")
        }
        #expect(try String(contentsOfFile: a + "/vocab.txt", encoding: .utf8) == String(contentsOfFile: Self.goldens + "/wordpiece-vocab.txt", encoding: .utf8))
        #expect(reloaded.endOfTextId == source.endOfTextId && reloaded.padId == source.padId && reloaded.vocabSize == source.vocabSize)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: a + "/tokenizer_config.json"))) as? [String: Any]
        #expect(config?["eos_token"] as? String == "[PAD]")
        #expect(config?["tokenizer_class"] as? String == "BertTokenizer")
        #expect(config?["do_lower_case"] as? Bool == false)
        let strings = try TokenizerGoldenTests.strings(Self.goldens)
        for text in strings.prefix(300) {
            #expect(reloaded.encode(text) == source.encode(text), "\(quoted(text))")
        }
        // The tokenizer.json written also loads on its own (without vocab.txt) to the same tokenizer.
        try FileManager.default.removeItem(atPath: b + "/vocab.txt")
        let fromJSON = try PretrainedTokenizer.load(directory: b)
        for text in strings.prefix(300) { #expect(fromJSON.encode(text) == source.encode(text)) }
    }

    @Test func pipesOwnBPESavesByteForByte() throws {
        let bpe = BPETrainer(vocabSize: 400).train(sampleCorpus())
        let a = try Self.temporaryDirectory(), b = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        try bpe.save(directory: a, modelMaxLength: 256)
        try PretrainedTokenizer(bpe).save(directory: b, modelMaxLength: 256)
        #expect(try FileManager.default.contentsOfDirectory(atPath: b).sorted() == ["tokenizer.json", "tokenizer_config.json"])
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: a + "/" + name)) == Data(contentsOf: URL(fileURLWithPath: b + "/" + name)))
        }
        let loaded = try PretrainedTokenizer.load(directory: a)
        #expect(loaded.endOfTextId == bpe.endOfTextId && loaded.padId == bpe.padId)
        #expect(loaded.names == PretrainedTokenizer(bpe).names)
        for text in TokenizerTests.mixed { #expect(loaded.encode(text) == bpe.encode(text)) }
    }

    /// GPT-2's slow-tokenizer files (vocab.json + merges.txt) load as the same BPE as its tokenizer.json.
    @Test func gpt2VocabAndMergesFiles() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let root = try JSONFields.object(Data(contentsOf: URL(fileURLWithPath: Self.goldens + "/bpe/tokenizer.json")), file: "bpe")
        let vocab = (root["model"]?["vocab"]?.members ?? []).map { "\(JSONFields.quoted($0.key)): \($0.value.integer ?? -1)" }
        try Self.write(dir, "vocab.json", "{" + vocab.joined(separator: ", ") + "}")
        let merges = (root["model"]?["merges"]?.array ?? []).map { ($0.array ?? []).compactMap(\.string).joined(separator: " ") }
        try Self.write(dir, "merges.txt", "#version: 0.2\n" + merges.joined(separator: "\n") + "\n")
        let slow = try PretrainedTokenizer.load(directory: dir)
        let fast = try PretrainedTokenizer.load(directory: Self.goldens + "/bpe")
        #expect(slow.endOfTextId == fast.endOfTextId && slow.vocabSize == fast.vocabSize)
        for text in try TokenizerGoldenTests.strings(Self.goldens).prefix(300) { #expect(slow.encode(text) == fast.encode(text), "\(quoted(text))") }
    }

    /// A slow GPT-2 folder's added tokens (added_tokens.json, added_tokens_decoder of tokenizer_config.json)
    /// are matched as `transformers`' GPT2Tokenizer matches them: "a<think>b新词c" → a, 1200, b, 1201, c.
    @Test func gpt2SlowFilesWithAddedTokens() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let root = try JSONFields.object(Data(contentsOf: URL(fileURLWithPath: Self.goldens + "/bpe/tokenizer.json")), file: "bpe")
        let members = root["model"]?["vocab"]?.members ?? []
        let vocab = members.map { "\(JSONFields.quoted($0.key)): \($0.value.integer ?? -1)" }
        try Self.write(dir, "vocab.json", "{" + vocab.joined(separator: ", ") + "}")
        let merges = (root["model"]?["merges"]?.array ?? []).map { ($0.array ?? []).compactMap(\.string).joined(separator: " ") }
        try Self.write(dir, "merges.txt", "#version: 0.2\n" + merges.joined(separator: "\n") + "\n")
        let n = members.count
        try Self.write(dir, "added_tokens.json", "{\"<think>\": \(n), \"新词\": \(n + 1)}")
        try Self.write(dir, "tokenizer_config.json", """
            {"added_tokens_decoder": {"\(n + 2)": {"content": "<sep>", "lstrip": true, "rstrip": true, "normalized": false, "single_word": false, "special": false},
             "\(n + 3)": {"content": "<|im_start|>", "lstrip": false, "rstrip": false, "normalized": false, "single_word": false, "special": true}}}
            """)
        let slow = try PretrainedTokenizer.load(directory: dir)
        #expect(slow.vocabSize == n + 4)
        let plain = try PretrainedTokenizer.load(directory: Self.goldens + "/bpe")
        let (a, b, c) = (plain.encode("a"), plain.encode("b"), plain.encode("c"))
        #expect(slow.encode("a<think>b新词c", allowSpecial: false) == a + [Int32(n)] + b + [Int32(n + 1)] + c)
        #expect(slow.encode("a <sep> b<|im_start|>c") == a + [Int32(n + 2)] + b + [Int32(n + 3)] + c)
        #expect(slow.decode(a + [Int32(n), Int32(n + 3)], skipSpecial: true) == "a<think>")
        try Self.write(dir, "added_tokens.json", "{\"<think>\": 5}")
        #expect { try PretrainedTokenizer.load(directory: dir) } throws: {
            "\($0)" == "\(dir): the added token \"<think>\" (added_tokens.json or added_tokens_decoder) has id 5, which vocab.json gives to "
                + "\(quoted(members.first { $0.value.integer == 5 }?.key ?? "?")); give it an id past the vocabulary"
        }
    }

    /// Each malformed input gives an error that names the file and the problem — never a crash.
    @Test func malformedFilesGiveClearErrors() throws {
        let wp = #"{"normalizer": null, "pre_tokenizer": {"type": "BertPreTokenizer"}, "decoder": null, "post_processor": null, "added_tokens": ADDED, "model": {"type": "WordPiece", "vocab": VOCAB}}"#
        func tokenizerJSON(vocab: String = #"{"[UNK]": 0, "a": 1}"#, added: String = "[]") -> String {
            wp.replacingOccurrences(of: "VOCAB", with: vocab).replacingOccurrences(of: "ADDED", with: added)
        }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let cases: [(files: [String: String], expected: String)] = [
            (["tokenizer.json": "not json"], "tokenizer.json: not valid JSON"),
            (["tokenizer.json": "[1]"], "tokenizer.json: not a JSON object"),
            (["tokenizer.json": deep], "tokenizer.json: not valid JSON"),
            (["tokenizer.json": #"{"model": {"type": "Unigram"}}"#], #"model.type is "Unigram""#),
            (["tokenizer.json": tokenizerJSON(vocab: "{}")], "the vocabulary is empty"),
            (["tokenizer.json": tokenizerJSON(vocab: #"{"[UNK]": 0, "a": 0}"#)], "gives id 0 to both"),
            (["tokenizer.json": tokenizerJSON(vocab: #"{"[UNK]": 0, "a": 5}"#)], "= 5 is out of range"),
            (["tokenizer.json": tokenizerJSON(vocab: #"{"[UNK]": 0, "a": "1"}"#)], "is not an integer id"),
            (["tokenizer.json": tokenizerJSON(vocab: #"{"[UNK]": 0, "a": true}"#)], "is not an integer id"),
            (["tokenizer.json": tokenizerJSON(vocab: #"{"[UNK]": 0, "a": 1e300}"#)], "is not an integer id"),
            (["tokenizer.json": tokenizerJSON(vocab: #"{"b": 0, "a": 1}"#)], #"the unknown token "[UNK]" is not in the vocabulary"#),
            (["tokenizer.json": tokenizerJSON(added: #"[{"id": 1, "content": "[X]", "special": true}]"#)], #"added token "[X]" claims id 1"#),
            (["tokenizer.json": tokenizerJSON(added: #"[{"id": 5, "content": "[X]", "special": true}]"#)], "no token has id 2"),
            (["tokenizer.json": tokenizerJSON(added: #"[{"id": -1, "content": "[X]"}]"#)], "negative id"),
            (["tokenizer.json": tokenizerJSON(added: #"[{"id": 2000000000, "content": "[X]"}]"#)], "no token has id 2"),
            (["tokenizer.json": tokenizerJSON(added: #"{"id": 1}"#)], "added_tokens must be a list"),
            // (NFKC, Whitespace, end_of_word_suffix and ignore_merges load through the general pipeline: TokenizerPipelineTests.)
            (["tokenizer.json": tokenizerJSON().replacingOccurrences(of: #""normalizer": null"#, with: #""normalizer": {"type": "Precompiled"}"#)],
             #"normalizer.type "Precompiled" is not supported"#),
            (["tokenizer.json": tokenizerJSON().replacingOccurrences(of: "BertPreTokenizer", with: "UnicodeScripts")], #"pre_tokenizer.type "UnicodeScripts" is not supported"#),
            (["tokenizer.json": #"{"model": {"type": "BPE", "unk_token": "<unk>", "vocab": {"a": 0}, "merges": []}}"#], #"model.unk_token "<unk>" is not in model.vocab"#),
            (["tokenizer.json": #"{"model": {"type": "BPE", "dropout": 0.1, "vocab": {}, "merges": []}}"#], "model.dropout must be null"),
            (["tokenizer.json": tokenizerJSON().replacingOccurrences(of: #""post_processor": null"#, with: #""post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 7], "sep": ["[SEP]", 1]}"#)], "post_processor uses id 7, outside the vocabulary"),
            (["tokenizer.json": tokenizerJSON().replacingOccurrences(of: #""post_processor": null"#, with: #""post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[X]"}}], "special_tokens": {}}"#)], #"post_processor.special_tokens lacks "[X]""#),
            (["vocab.txt": ""], "vocab.txt: the vocabulary is empty"),
            (["vocab.txt": "[UNK]\na\nb\na\n"], "vocab.txt: line 4 repeats the token \"a\" of line 2"),
            (["vocab.txt": "a\nb\n"], #"unk_token "[UNK]" is not in the vocabulary"#),
            (["vocab.txt": "[UNK]\n[SEP]\n", "tokenizer_config.json": #"{"mask_token": "[MASK]"}"#], #"mask_token "[MASK]" is not in the vocabulary"#),
            (["vocab.txt": "[UNK]\n[CLS]\n[SEP]\n[PAD]\n[MASK]\n", "tokenizer_config.json": #"{"do_lower_case": "yes"}"#], "tokenizer_config.json: do_lower_case must be true or false"),
            (["vocab.txt": "[UNK]\n[CLS]\n[SEP]\n[PAD]\n[MASK]\n", "tokenizer_config.json": #"{"eos_token": 7}"#], "tokenizer_config.json: eos_token must be"),
            (["vocab.txt": "[UNK]\n[CLS]\n[SEP]\n[PAD]\n[MASK]\n", "tokenizer_config.json": "{"], "tokenizer_config.json: not valid JSON"),
            (["vocab.txt": "[UNK]\n", "tokenizer_config.json": #"{"cls_token": null, "sep_token": null, "pad_token": null, "mask_token": null}"#], "no end-of-text token"),
            (["vocab.json": "{}", "merges.txt": ""], "vocab.json"),
            (["README.md": "hi"], "no tokenizer found"),
        ]
        for (files, expected) in cases {
            let dir = try Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            for (name, text) in files { try Self.write(dir, name, text) }
            do {
                _ = try PretrainedTokenizer.load(directory: dir)
                Issue.record("accepted \(files.keys.sorted()) expecting \(expected)")
            } catch {
                let message = "\(error)"
                #expect(message.contains(expected), "\(message)")
                #expect(message.hasPrefix(dir), "the error should name the file: \(message)")
            }
        }
        // Invalid UTF-8 in vocab.txt.
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data([0x5B, 0x55, 0x4E, 0x4B, 0x5D, 0x0A, 0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: dir + "/vocab.txt"))
        #expect(throws: TokenizerFileError.self) { try PretrainedTokenizer.load(directory: dir) }
        #expect(throws: TokenizerFileError.self) { try PretrainedTokenizer.load(directory: dir + "/missing") }
    }

    /// A vocab.txt without some of BERT's default special tokens still loads; those roles are unset.
    @Test func bareVocabularyWithoutDefaultSpecials() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.write(dir, "vocab.txt", "[UNK]\n[SEP]\n好\n看\n")
        let tokenizer = try PretrainedTokenizer.load(directory: dir)
        #expect(tokenizer.names.mask == nil && tokenizer.names.cls == nil && tokenizer.names.pad == "[SEP]")
        #expect(tokenizer.endOfTextId == 1 && tokenizer.padId == 1 && tokenizer.beginOfTextId == 1)
        #expect(tokenizer.encode("好看[SEP]") == [2, 3, 1])
    }

    /// `added_tokens_decoder` (what newer `transformers` write) adds tokens past vocab.txt with their flags.
    @Test func addedTokensDecoderOfTheConfig() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.write(dir, "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n好\n看\n")
        try Self.write(dir, "tokenizer_config.json", #"""
            {"do_lower_case": false, "eos_token": "<eod>", "added_tokens_decoder": {
              "4": {"content": "[MASK]", "lstrip": true, "rstrip": false, "normalized": false, "single_word": false, "special": true},
              "7": {"content": "<eod>", "lstrip": false, "rstrip": false, "normalized": false, "single_word": false, "special": true}}}
            """#)
        let tokenizer = try PretrainedTokenizer.load(directory: dir)
        #expect(tokenizer.vocabSize == 8 && tokenizer.endOfTextId == 7)
        #expect(tokenizer.encode("好 [MASK]看<eod>") == [5, 4, 6, 7])
        #expect(tokenizer.decode([5, 4, 6, 7], skipSpecial: true) == "好 看")
    }

    /// `clean_up_tokenization_spaces: true` (what transformers 4 wrote into most configs): decoded text loses
    /// the spaces before punctuation and inside contractions across tokens, as `transformers`' decode
    /// does; the setting survives save and reload. Without it (transformers 5's default) the spaces stay.
    @Test func cleanUpTokenizationSpacesOfTheConfig() throws {
        let dir = try Self.temporaryDirectory(), saved = try Self.temporaryDirectory()
        defer { for d in [dir, saved] { try? FileManager.default.removeItem(atPath: d) } }
        try Self.write(dir, "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\ndon\n'\nt\nit\ns\n.\n,\n好\n")
        let text = "don't it's, 好."
        try Self.write(dir, "tokenizer_config.json", #"{"do_lower_case": false}"#)
        let plain = try PretrainedTokenizer.load(directory: dir)
        let ids = plain.encode(text)
        #expect(ids == [4, 5, 6, 7, 5, 8, 10, 11, 9])
        #expect(plain.decode(ids) == "don ' t it ' s, 好.")
        try Self.write(dir, "tokenizer_config.json", #"{"do_lower_case": false, "clean_up_tokenization_spaces": true}"#)
        let cleaned = try PretrainedTokenizer.load(directory: dir)
        #expect(cleaned.decode(ids) == "don't it's, 好." && cleaned.decode([3] + ids, skipSpecial: true) == "don't it's, 好.")
        try cleaned.save(directory: saved)
        #expect(try PretrainedTokenizer.load(directory: saved).decode(ids) == "don't it's, 好.")
        try Self.write(dir, "tokenizer_config.json", #"{"clean_up_tokenization_spaces": "yes"}"#)
        #expect { try PretrainedTokenizer.load(directory: dir) } throws: {
            "\($0)" == "\(dir)/tokenizer_config.json: clean_up_tokenization_spaces must be true or false, got \"yes\""
        }
    }

    /// `tokenizer_class: BertTokenizerLegacy` (transformers 5's slow BERT class) composes the text (NFC)
    /// before accents and case, so a decomposed "è" is the vocabulary's "è", where the fast class gives
    /// [UNK]; it reads vocab.txt even beside a tokenizer.json, and pipe's save keeps the class.
    @Test func slowBertTokenizerComposesFirst() throws {
        let dir = try Self.temporaryDirectory(), saved = try Self.temporaryDirectory()
        defer { for d in [dir, saved] { try? FileManager.default.removeItem(atPath: d) } }
        try Self.write(dir, "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nè\na\n好\n")
        let text = "e\u{300} a\u{300}好"
        try Self.write(dir, "tokenizer_config.json", #"{"tokenizer_class": "BertTokenizer", "do_lower_case": false}"#)
        #expect(try PretrainedTokenizer.load(directory: dir).encode(text) == [1, 1, 6])
        // An added token past vocab.txt (as transformers 5 saves it: in added_tokens_decoder) survives pipe's save.
        try Self.write(dir, "tokenizer_config.json", #"""
            {"tokenizer_class": "BertTokenizerLegacy", "do_lower_case": false, "additional_special_tokens": ["<x>"],
             "added_tokens_decoder": {"7": {"content": "<x>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true}}}
            """#)
        let legacy = try PretrainedTokenizer.load(directory: dir)
        #expect(legacy.encode(text + "<x>") == [4, 1, 6, 7])
        try legacy.save(directory: saved)
        #expect(try String(contentsOfFile: saved + "/tokenizer_config.json", encoding: .utf8).contains(#""tokenizer_class": "BertTokenizerLegacy""#))
        #expect(try PretrainedTokenizer.load(directory: saved).encode(text + "<x>") == [4, 1, 6, 7])
        // Uncased: composed, then accents stripped and lower-cased as before.
        try Self.write(dir, "tokenizer_config.json", #"{"tokenizer_class": "BertTokenizerLegacy", "do_lower_case": true}"#)
        #expect(try PretrainedTokenizer.load(directory: dir).encode("E\u{300} À") == [1, 5])
    }

    /// Opt-in (PIPE_TOKENIZERS_PYTHON with `transformers` installed): a WordPiece folder saved by pipe
    /// with the demo's `eos_token: [PAD]` loads in `AutoTokenizer` with the same ids and special tokens.
    @Test func transformersLoadsWhatPipeSaves() throws {
        guard let python = ProcessInfo.processInfo.environment["PIPE_TOKENIZERS_PYTHON"] else {
            print("skipped: set PIPE_TOKENIZERS_PYTHON to a Python with `transformers`")
            return
        }
        let tokenizer = try PretrainedTokenizer.load(directory: Self.goldens + "/wordpiece-cased-vocab", endOfText: "[PAD]")
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try tokenizer.save(directory: dir, modelMaxLength: 1024)
        let strings = try TokenizerGoldenTests.strings(Self.goldens)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("transformers_tokenizer_check.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, dir]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        let input = strings.map { JSONFields.quoted($0) }.joined(separator: "\n") + "\n"
        let writer = Thread { stdin.fileHandleForWriting.write(Data(input.utf8)); try? stdin.fileHandleForWriting.close() }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus == 3 { print("skipped: no `transformers` in \(python)"); return }
        try #require(process.terminationStatus == 0)
        let lines = try output.split(separator: UInt8(ascii: "\n")).map { try JSONParser.parse($0) }
        try #require(lines.count == strings.count + 1)
        #expect(lines[0]["eos_token"]?.string == "[PAD]")
        #expect(lines[0]["eos_token_id"]?.integer == Int(tokenizer.endOfTextId))
        #expect(lines[0]["size"]?.integer == tokenizer.vocabSize)
        var bad: [String] = []
        for (text, line) in zip(strings, lines.dropFirst()) {
            let ids = (line["ids"]?.array ?? []).compactMap { $0.integer.map(Int32.init) }
            if ids != tokenizer.encode(text) { bad.append("\(quoted(text)): transformers \(ids) ≠ pipe \(tokenizer.encode(text))") }
            else if line["decoded"]?.string != tokenizer.decode(ids) { bad.append("\(quoted(text)): decoded \(line["decoded"]?.string ?? "") ≠ \(tokenizer.decode(ids))") }
        }
        #expect(bad.isEmpty, "\(bad.count) differ, e.g. \(bad.prefix(5).joined(separator: "\n"))")
    }
}
