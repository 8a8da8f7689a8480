import Foundation
import JSONQuoting
import Testing
@testable import Tokenizer

/// Goldens written by the `tokenizers` package (make_tokenizer_goldens.py): pipe must encode and
/// decode every string exactly as it does.
@Suite("Tokenizer goldens")
struct TokenizerGoldenTests {
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens").path

    struct Golden {
        var ids: [Int32]
        var decoded: String?
        var skip: String?
    }

    static func lines(_ path: String) throws -> [JSONValue] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try data.split(separator: UInt8(ascii: "\n")).map { try JSONParser.parse($0) }
    }

    static func strings(_ dir: String) throws -> [String] { try lines(dir + "/strings.jsonl").compactMap(\.string) }

    static func golden(_ dir: String, _ name: String, kind: String = "golden") throws -> [Golden] {
        try lines("\(dir)/\(name).\(kind).jsonl").map { line in
            Golden(ids: (line["ids"]?.array ?? []).compactMap { $0.integer.map(Int32.init) }, decoded: line["decoded"]?.string, skip: line["skip"]?.string)
        }
    }

    /// Compares encode/decode on every string; returns the mismatches (string index and what differed).
    static func mismatches(_ tokenizer: PretrainedTokenizer, strings: [String], goldens: [Golden]) -> [String] {
        var out: [String] = []
        for (i, (text, golden)) in zip(strings, goldens).enumerated() {
            let ids = tokenizer.encode(text, allowSpecial: true)
            if ids != golden.ids {
                out.append("#\(i) \(quoted(text)): ids \(ids) ≠ \(golden.ids)")
                continue
            }
            let decoded = golden.decoded ?? text
            let mine = tokenizer.decode(golden.ids, skipSpecial: false)
            if mine != decoded { out.append("#\(i) \(quoted(text)): decoded \(quoted(mine)) ≠ \(quoted(decoded))") }
            let skipped = tokenizer.decode(golden.ids, skipSpecial: true)
            if skipped != golden.skip ?? decoded { out.append("#\(i) \(quoted(text)): skip-special decoded \(quoted(skipped)) ≠ \(quoted(golden.skip ?? decoded))") }
        }
        return out
    }

    /// Runs one golden set: the tokenizer in `dir/folder` against `dir/name.golden.jsonl`.
    static func check(_ dir: String, folder: String, golden name: String) throws {
        let strings = try strings(dir)
        let goldens = try golden(dir, name)
        #expect(goldens.count >= 800 && goldens.count <= strings.count)  // one per string (fewer for wordpiece-added)
        let tokenizer = try PretrainedTokenizer.load(directory: dir + "/" + folder)
        let bad = mismatches(tokenizer, strings: strings, goldens: goldens)
        #expect(bad.isEmpty, "\(folder): \(bad.count) of \(goldens.count) strings differ from `tokenizers`, e.g.\n\(bad.prefix(8).joined(separator: "\n"))")
        // add_special_tokens=True: the post-processor's ids around the plain ones.
        let special = try golden(dir, name, kind: "special")
        if case let .wordPiece(wp) = tokenizer.model {
            for (text, g) in zip(strings, special) { #expect(wp.encode(text, addSpecialTokens: true) == g.ids, "\(quoted(text))") }
        } else {
            for (text, g) in zip(strings, special) { #expect(tokenizer.encode(text) == g.ids, "\(quoted(text))") }
        }
    }

    @Test func thousandsOfStrings() throws { #expect(try Self.strings(Self.goldens).count >= 2000) }

    @Test func wordPieceCasedLikeTheChineseGPT2() throws { try Self.check(Self.goldens, folder: "wordpiece-cased", golden: "wordpiece-cased") }
    @Test func wordPieceUncasedStripsAccents() throws { try Self.check(Self.goldens, folder: "wordpiece-uncased", golden: "wordpiece-uncased") }
    @Test func wordPieceWithoutChineseSplitting() throws { try Self.check(Self.goldens, folder: "wordpiece-nocjk", golden: "wordpiece-nocjk") }
    /// Added tokens: normalised ones matched after lower-casing, single-word, lstrip/rstrip, ids past the vocabulary.
    @Test func wordPieceWithAddedTokens() throws { try Self.check(Self.goldens, folder: "wordpiece-added", golden: "wordpiece-added") }
    /// BERT's bare vocab.txt + tokenizer_config.json encodes like the equivalent tokenizer.json.
    @Test func bareVocabularyFolder() throws { try Self.check(Self.goldens, folder: "wordpiece-cased-vocab", golden: "wordpiece-cased") }
    /// A GPT-2-style byte-level BPE trained by `tokenizers` (its own tokenizer.json).
    @Test func byteLevelBPETrainedByTokenizers() throws { try Self.check(Self.goldens, folder: "bpe", golden: "bpe") }
    /// Added tokens of a byte-level BPE as `add_tokens` / `add_special_tokens` write them: ordinary ones
    /// match even where special ones are text (allowSpecial false) and survive skip-special decoding;
    /// lstrip/rstrip and single_word apply; saving keeps every flag.
    static func checkAddedTokens(_ dir: String) throws {
        let strings = try lines(dir + "/bpe-added.strings.jsonl").compactMap(\.string)
        let rows = try lines(dir + "/bpe-added.golden.jsonl")
        let goldens = try golden(dir, "bpe-added")
        try #require(strings.count == goldens.count && strings.count >= 600)
        let tokenizer = try PretrainedTokenizer.load(directory: dir + "/bpe-added")
        let saved = try WordPieceTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: saved) }
        try tokenizer.save(directory: saved)
        let reloaded = try PretrainedTokenizer.load(directory: saved)
        guard case .byteLevelBPE(let bpe) = tokenizer.model, case .byteLevelBPE(let again) = reloaded.model else {
            Issue.record("not loaded as a byte-level BPE")
            return
        }
        #expect(again.addedTokens == bpe.addedTokens)
        #expect(bpe.addedTokens.filter { !$0.special }.map(\.content) == ["<think>", "</think>", "新词", "<sep>", "okk"])
        for t in [tokenizer, reloaded] {
            let bad = mismatches(t, strings: strings, goldens: goldens)
            #expect(bad.isEmpty, "\(bad.count) of \(goldens.count) strings differ from `tokenizers`, e.g.\n\(bad.prefix(8).joined(separator: "\n"))")
        }
        var cache = BPEPieceCache()
        for (text, row) in zip(strings, rows) {
            let split = (row["split"] ?? row["ids"])?.array?.compactMap { $0.integer.map(Int32.init) }
            #expect(tokenizer.encode(text, allowSpecial: false) == split, "\(quoted(text))")
            #expect(bpe.encodeOrdinary(text, cache: &cache) == split, "\(quoted(text)) (cached)")
        }
    }

    @Test func byteLevelBPEWithAddedTokens() throws { try Self.checkAddedTokens(Self.goldens) }

    /// A folder whose tokenizer_config.json names BertTokenizer(Fast) encodes with the config's
    /// do_lower_case / strip_accents / tokenize_chinese_chars (transformers' defaults: true, null, true),
    /// which transformers puts into the BertNormalizer over what tokenizer.json says.
    @Test(arguments: [("wordpiece-cased", #"{"tokenizer_class": "BertTokenizer"}"#, "wordpiece-uncased"),
                      ("wordpiece-uncased", #"{"tokenizer_class": "BertTokenizerFast", "do_lower_case": false}"#, "wordpiece-cased"),
                      ("wordpiece-uncased", #"{"tokenizer_class": "PreTrainedTokenizerFast", "do_lower_case": false}"#, "wordpiece-uncased")])
    func bertTokenizerConfigOverridesTheNormalizer(folder: String, config: String, golden: String) throws {
        let dir = try WordPieceTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: Self.goldens + "/\(folder)/tokenizer.json", toPath: dir + "/tokenizer.json")
        try config.write(toFile: dir + "/tokenizer_config.json", atomically: true, encoding: .utf8)
        let tokenizer = try PretrainedTokenizer.load(directory: dir)
        let strings = try Self.strings(Self.goldens), goldens = try Self.golden(Self.goldens, golden)
        let bad = Self.mismatches(tokenizer, strings: strings, goldens: goldens)
        #expect(bad.isEmpty, "\(bad.count) differ from \(golden), e.g.\n\(bad.prefix(4).joined(separator: "\n"))")
        try #"{"tokenizer_class": "BertTokenizer", "do_lower_case": "no"}"#.write(toFile: dir + "/tokenizer_config.json", atomically: true, encoding: .utf8)
        #expect { try PretrainedTokenizer.load(directory: dir) } throws: { "\($0)" == "\(dir)/tokenizer_config.json: do_lower_case must be true or false, got \"no\"" }
    }

    /// add_prefix_space: every stretch of text between added tokens that does not start with a space gets
    /// one, as `tokenizers`' ByteLevel pre-tokenizer does. tokenizer_config.json decides for transformers'
    /// GPT-2/RoBERTa classes (and when it names no class), tokenizer.json for the generic class and for a
    /// bare tokenizer.json; the setting survives save and reload.
    @Test func addPrefixSpace() throws {
        let dir = try WordPieceTests.temporaryDirectory(), saved = try WordPieceTests.temporaryDirectory()
        defer { for d in [dir, saved] { try? FileManager.default.removeItem(atPath: d) } }
        try FileManager.default.copyItem(atPath: Self.goldens + "/bpe/tokenizer.json", toPath: dir + "/tokenizer.json")
        let plain = try PretrainedTokenizer.load(directory: Self.goldens + "/bpe"), eot = plain.endOfTextId
        func expectPrefixed(_ tokenizer: PretrainedTokenizer, _ prefixed: Bool, _ comment: Comment) {
            let p = prefixed ? " " : ""
            #expect(tokenizer.encode("hello") == plain.encode(p + "hello"), comment)
            #expect(tokenizer.encode("hi<|endoftext|>there\n") == plain.encode(p + "hi") + [eot] + plain.encode(p + "there\n"), comment)
            #expect(tokenizer.encode("<|endoftext|> x") == [eot] + plain.encode(" x"), comment)
            #expect(tokenizer.encode("<|endoftext|>") == [eot] && tokenizer.encode("").isEmpty, comment)
            #expect(tokenizer.decode(tokenizer.encode("hello")) == p + "hello", comment)
        }
        for (config, prefixed) in [(#"{"tokenizer_class": "GPT2Tokenizer", "add_prefix_space": true}"#, true),
                                   (#"{"tokenizer_class": "RobertaTokenizerFast", "add_prefix_space": true}"#, true),
                                   (#"{"add_prefix_space": true}"#, true),
                                   (#"{"tokenizer_class": "PreTrainedTokenizerFast", "add_prefix_space": true}"#, false),
                                   (#"{"tokenizer_class": "GPT2Tokenizer"}"#, false)] {
            try config.write(toFile: dir + "/tokenizer_config.json", atomically: true, encoding: .utf8)
            let tokenizer = try PretrainedTokenizer.load(directory: dir)
            expectPrefixed(tokenizer, prefixed, "\(config)")
            try tokenizer.save(directory: saved)
            expectPrefixed(try PretrainedTokenizer.load(directory: saved), prefixed, "saved from \(config)")
            #expect(try String(contentsOfFile: saved + "/tokenizer.json", encoding: .utf8).contains(#""add_prefix_space": \#(prefixed), "trim_offsets""#))
        }
        // tokenizer.json's own setting, with no config or the generic class; GPT2Tokenizer's default overrides it.
        let json = try String(contentsOfFile: dir + "/tokenizer.json", encoding: .utf8)
        let pre = #""pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false"#
        try #require(json.contains(pre))
        try json.replacingOccurrences(of: pre, with: #""pre_tokenizer":{"type":"ByteLevel","add_prefix_space":true"#)
            .write(toFile: dir + "/tokenizer.json", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: dir + "/tokenizer_config.json")
        expectPrefixed(try PretrainedTokenizer.load(directory: dir), true, "tokenizer.json alone")
        try #"{"tokenizer_class": "GPT2Tokenizer"}"#.write(toFile: dir + "/tokenizer_config.json", atomically: true, encoding: .utf8)
        expectPrefixed(try PretrainedTokenizer.load(directory: dir), false, "GPT2Tokenizer's default")
        try #require(json.contains(pre + #","trim_offsets":true,"use_regex":true}"#))
        try json.replacingOccurrences(of: pre + #","trim_offsets":true,"use_regex":true}"#, with: pre + #","trim_offsets":true,"use_regex":false}"#)
            .write(toFile: dir + "/tokenizer.json", atomically: true, encoding: .utf8)
        #expect { try PretrainedTokenizer.load(directory: dir) } throws: {
            "\($0)" == "\(dir)/tokenizer.json: pre_tokenizer must be ByteLevel with use_regex true (and add_prefix_space true or false); "
                + "\(dir)/tokenizer_config.json names tokenizer_class \"GPT2Tokenizer\", which transformers rebuilds from its own settings "
                + "(name \"PreTrainedTokenizerFast\" there to use tokenizer.json as it is)"
        }
        try #"{"add_prefix_space": "yes"}"#.write(toFile: dir + "/tokenizer_config.json", atomically: true, encoding: .utf8)
        try json.write(toFile: dir + "/tokenizer.json", atomically: true, encoding: .utf8)
        #expect { try PretrainedTokenizer.load(directory: dir) } throws: {
            "\($0)" == "\(dir)/tokenizer_config.json: add_prefix_space must be true or false, got \"yes\""
        }
    }

    /// transformers 5 names the extra special tokens `extra_special_tokens` (a list or {name: token});
    /// they are kept and written back as `additional_special_tokens`, which both versions read.
    @Test(arguments: [#"["<|im_start|>", "<|im_end|>"]"#, #"{"start": "<|im_start|>", "end": {"content": "<|im_end|>"}}"#])
    func extraSpecialTokensOfTransformers5(_ list: String) throws {
        let dir = try WordPieceTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: Self.goldens + "/bpe-added/tokenizer.json", toPath: dir + "/tokenizer.json")
        try #"{"eos_token": "<|endoftext|>", "extra_special_tokens": \#(list), "tokenizer_class": "GPT2Tokenizer"}"#
            .write(toFile: dir + "/tokenizer_config.json", atomically: true, encoding: .utf8)
        let tokenizer = try PretrainedTokenizer.load(directory: dir)
        #expect(tokenizer.names.additional == ["<|im_start|>", "<|im_end|>"])
        #expect(tokenizer.configJSON(modelMaxLength: 8).contains(#""additional_special_tokens": ["<|im_start|>", "<|im_end|>"]"#))
        try #"{"extra_special_tokens": "<|im_start|>"}"#.write(toFile: dir + "/tokenizer_config.json", atomically: true, encoding: .utf8)
        #expect { try PretrainedTokenizer.load(directory: dir) } throws: { "\($0)".hasSuffix("tokenizer_config.json: extra_special_tokens must be a list") }
    }

    /// The bare vocab.txt folder as `transformers` saves it after `AutoTokenizer.from_pretrained`.
    @Test func bertFolderSavedByTransformers() throws { try Self.check(Self.goldens, folder: "bert-transformers", golden: "wordpiece-cased") }
    /// The same BPE in GPT-2's own layout, as `transformers`' GPT2TokenizerFast saves it.
    @Test func gpt2LayoutSavedByTransformers() throws { try Self.check(Self.goldens, folder: "gpt2-transformers", golden: "bpe") }

    /// GPT-2's pattern classes every scalar as `tokenizers` does: letters of Unicode versions newer than
    /// its regex engine's tables are punctuation there, so "a\u{88F}b" splits in three.
    @Test func newerLettersSplitAsInTokenizers() {
        #expect(PreTokenizer.split("a\u{88F}b") == ["a", "\u{88F}", "b"])
        #expect(PreTokenizer.split("a\u{10940}\u{10941}b") == ["a", "\u{10940}\u{10941}", "b"])
        #expect(PreTokenizer.split("aéb 中文") == ["aéb", " 中文"])
    }

    /// Opt-in (PIPE_TOKENIZERS_PYTHON): the class of every Unicode scalar equals the one `tokenizers`' regex
    /// engine gives it for GPT-2's pattern (`regex_classes.py`).
    @Test func everyScalarIsClassedAsTokenizersDoes() throws {
        guard let python = ProcessInfo.processInfo.environment["PIPE_TOKENIZERS_PYTHON"] else {
            print("skipped: set PIPE_TOKENIZERS_PYTHON to a Python with the `tokenizers` package")
            return
        }
        let process = Process(), output = Pipe()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("regex_classes.py").path]
        process.standardOutput = output
        try process.run()
        let classes = Array(output.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        try #require(process.terminationStatus == 0 && classes.count == 0x110000 - 0x800)
        let letters: [PreTokenizer.Class: UInt8] = [.letter: UInt8(ascii: "L"), .number: UInt8(ascii: "N"), .space: UInt8(ascii: "S"),
                                                    .other: UInt8(ascii: "O")]
        var differing: [String] = []
        for (i, value) in (UInt32(0)..<0x110000).filter({ !(0xD800...0xDFFF).contains($0) }).enumerated()
        where letters[PreTokenizer.classify(value: value)] != classes[i] {
            differing.append(String(value, radix: 16, uppercase: true))
        }
        #expect(differing.isEmpty, "\(differing.count) scalars classed otherwise, e.g. U+\(differing.prefix(5).joined(separator: ", U+"))")
    }

    /// Opt-in: set PIPE_TOKENIZERS_PYTHON to a Python with `tokenizers` (a venv); the generator then
    /// writes fresh random strings (seed PIPE_TOKENIZERS_SEED or the day) plus every Unicode code point,
    /// with the package's encodings, and all of them must match.
    @Test func matchesTheTokenizersPackageLive() throws {
        guard let python = ProcessInfo.processInfo.environment["PIPE_TOKENIZERS_PYTHON"] else {
            print("skipped: set PIPE_TOKENIZERS_PYTHON to a Python with the `tokenizers` package")
            return
        }
        let seed = ProcessInfo.processInfo.environment["PIPE_TOKENIZERS_SEED"].flatMap(Int.init) ?? Int(Date().timeIntervalSince1970 / 86_400)
        let dir = NSTemporaryDirectory() + "tokenizer-live-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("make_tokenizer_goldens.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, "--out", dir, "--seed", String(seed), "--count", "5000", "--all-code-points"]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "the generator failed (status \(process.terminationStatus))")
        print("live tokenizers comparison, seed \(seed)")
        for name in ["wordpiece-cased", "wordpiece-uncased", "wordpiece-nocjk", "wordpiece-added", "bpe"] {
            try Self.check(dir, folder: name, golden: name)
        }
        try Self.check(dir, folder: "wordpiece-cased-vocab", golden: "wordpiece-cased")
        try Self.checkAddedTokens(dir)
    }
}
