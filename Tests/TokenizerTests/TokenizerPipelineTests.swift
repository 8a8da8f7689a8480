import Foundation
import JSONQuoting
import Testing
@testable import Tokenizer

/// The general `tokenizer.json` pipeline (normalizer → pre-tokenizer → model → decoder) against values the
/// live Hugging Face `tokenizers` 0.23.3 produced (Python: `normalize_str`, `pre_tokenize_str`, `decoder.decode`,
/// `Tokenizer.from_str(json).encode(text, add_special_tokens=False).ids` and `decode`). Strings are compared by
/// Unicode scalars: Swift's `==` would call "é" and "e\u{301}" equal.
@Suite("General tokenizer.json pipelines")
struct TokenizerPipelineTests {
    static let reader = PipelineJSON(file: "tokenizer.json")

    static func json(_ text: String) throws -> JSONValue { try JSONFields.object(Data(text.utf8), file: "tokenizer.json") }
    static func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

    static let normalizerText = "  Héllo, WORLD! café́ ÅÉß 12.5%  x–y  ｆｕｌｌ①  "
    /// (normalizer JSON, `normalize_str(normalizerText)`)
    static let normalizerCases: [(String, String)] = [
        (###"{"type": "NFD"}"###, "  Héllo, WORLD! café́ ÅÉß 12.5%  x–y  ｆｕｌｌ①  "),
        (###"{"type": "NFC"}"###, "  Héllo, WORLD! café́ ÅÉß 12.5%  x–y  ｆｕｌｌ①  "),
        (###"{"type": "NFKD"}"###, "  Héllo, WORLD! café́ ÅÉß 12.5%  x–y  full1  "),
        (###"{"type": "NFKC"}"###, "  Héllo, WORLD! café́ ÅÉß 12.5%  x–y  full1  "),
        (###"{"type": "Lowercase"}"###, "  héllo, world! café́ åéß 12.5%  x–y  ｆｕｌｌ①  "),
        (###"{"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}]}"###, "  Hello, WORLD! cafe AEß 12.5%  x–y  ｆｕｌｌ①  "),
        (###"{"type": "Strip", "strip_left": true, "strip_right": false}"###, "Héllo, WORLD! café́ ÅÉß 12.5%  x–y  ｆｕｌｌ①  "),
        (###"{"type": "Strip", "strip_left": true, "strip_right": true}"###, "Héllo, WORLD! café́ ÅÉß 12.5%  x–y  ｆｕｌｌ①"),
        (###"{"type": "Replace", "pattern": {"String": "l"}, "content": "LL"}"###, "  HéLLLLo, WORLD! café́ ÅÉß 12.5%  x–y  ｆｕｌｌ①  "),
        (###"{"type": "Prepend", "prepend": "▁"}"###, "▁  Héllo, WORLD! café́ ÅÉß 12.5%  x–y  ｆｕｌｌ①  "),
        (###"{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true}"###, "  hello, world! cafe aeß 12.5%  x–y  ｆｕｌｌ①  "),
    ]

    @Test func normalizersMatchTokenizers() throws {
        for (json, expected) in Self.normalizerCases {
            let n = try PipelineNormalizer(json: Self.json(json), path: "normalizer", reader: Self.reader)
            #expect(n.normalize(Self.scalars(Self.normalizerText)) == Self.scalars(expected), "\(json)")
        }
    }

    /// Unicode forms where Foundation (Linux) or Swift's newer Unicode tables differ from `tokenizers`' crate:
    /// a supplementary-plane letter before U+0301 (Foundation composes U+10041 + U+0301 into "Á"), tag
    /// characters, U+0F73 (a decomposition that must reorder), characters and marks newer than the crate's
    /// tables (U+32FF, U+07FD, U+113C2 + U+113C9), and ordinary cases. Expected: `tokenizers` 0.23.3.
    @Test func unicodeFormsMatchTokenizers() {
        let inputs: [[UInt32]] = [[65601, 769, 97], [129387, 917586, 769, 917546, 874, 120], [97, 769, 3955], [13055, 769], [97, 769, 2045],
                                  [70594, 70601], [101, 769, 64257, 9312], [119808, 807, 769]]
        let expected: [(UnicodeNormalization.Form, [[UInt32]])] = [
            (.nfd, [[65601, 769, 97], [129387, 917586, 769, 917546, 874, 120], [97, 3953, 3954, 769], [13055, 769], [97, 769, 2045], [70594, 70601],
                    [101, 769, 64257, 9312], [119808, 807, 769]]),
            (.nfc, [[65601, 769, 97], [129387, 917586, 769, 917546, 874, 120], [225, 3953, 3954], [13055, 769], [225, 2045], [70594, 70601],
                    [233, 64257, 9312], [119808, 807, 769]]),
            (.nfkd, [[65601, 769, 97], [129387, 917586, 769, 917546, 874, 120], [97, 3953, 3954, 769], [13055, 769], [97, 769, 2045], [70594, 70601],
                     [101, 769, 102, 105, 49], [65, 807, 769]]),
            (.nfkc, [[65601, 769, 97], [129387, 917586, 769, 917546, 874, 120], [225, 3953, 3954], [13055, 769], [225, 2045], [70594, 70601],
                     [233, 102, 105, 49], [193, 807]]),
        ]
        for (form, outputs) in expected {
            for (input, output) in zip(inputs, outputs) {
                #expect(UnicodeNormalization.normalize(input, form) == output, "\(form) \(input)")
            }
        }
    }

    /// Characters Swift's (newer) Unicode tables classify differently from the crates of `tokenizers` 0.23.3:
    /// StripAccents keeps U+07FD and drops U+1CF2; Whitespace's \w does not match U+088F; Punctuation does not
    /// split at U+061D but does at U+166D.
    @Test func characterClassesFollowTokenizersTables() throws {
        let strip = try PipelineNormalizer(json: Self.json(#"{"type": "StripAccents"}"#), path: "normalizer", reader: Self.reader)
        #expect(strip.normalize([0x61, 0x7FD, 0x1CF2, 0x61]) == [0x61, 0x7FD, 0x61])
        let whitespace = try PipelinePreTokenizer(json: Self.json(#"{"type": "Whitespace"}"#), path: "pre_tokenizer", reader: Self.reader)
        #expect(whitespace.apply([.init(scalars: [0x61, 0x88F, 0x61], atStart: true)]).map(\.scalars) == [[0x61], [0x88F], [0x61]])
        let punctuation = try PipelinePreTokenizer(json: Self.json(#"{"type": "Punctuation"}"#), path: "pre_tokenizer", reader: Self.reader)
        #expect(punctuation.apply([.init(scalars: [0x61, 0x61D, 0x61, 0x166D, 0x62], atStart: true)]).map(\.scalars)
                == [[0x61, 0x61D, 0x61], [0x166D], [0x62]])
    }

    static let preTokenizerText = "Hello, world! It's 2024... naïve  x__y a-b ▁marked  "
    /// (pre-tokenizer JSON, the strings of `pre_tokenize_str(preTokenizerText)`)
    static let preTokenizerCases: [(String, [String])] = [
        (###"{"type": "Whitespace"}"###, ["Hello", ",", "world", "!", "It", "'", "s", "2024", "...", "naïve", "x__y", "a", "-", "b", "▁", "marked"]),
        (###"{"type": "WhitespaceSplit"}"###, ["Hello,", "world!", "It's", "2024...", "naïve", "x__y", "a-b", "▁marked"]),
        (###"{"type": "Punctuation", "behavior": "Isolated"}"###, ["Hello", ",", " world", "!", " It", "'", "s 2024", ".", ".", ".", " naïve  x", "_", "_", "y a", "-", "b ▁marked  "]),
        (###"{"type": "Punctuation", "behavior": "MergedWithPrevious"}"###, ["Hello,", " world!", " It'", "s 2024.", ".", ".", " naïve  x_", "_", "y a-", "b ▁marked  "]),
        (###"{"type": "Punctuation", "behavior": "MergedWithNext"}"###, ["Hello", ", world", "! It", "'s 2024", ".", ".", ". naïve  x", "_", "_y a", "-b ▁marked  "]),
        (###"{"type": "Punctuation", "behavior": "Contiguous"}"###, ["Hello", ",", " world", "!", " It", "'", "s 2024", "...", " naïve  x", "__", "y a", "-", "b ▁marked  "]),
        (###"{"type": "Punctuation", "behavior": "Removed"}"###, ["Hello", " world", " It", "s 2024", " naïve  x", "y a", "b ▁marked  "]),
        (###"{"type": "Digits", "individual_digits": true}"###, ["Hello, world! It's ", "2", "0", "2", "4", "... naïve  x__y a-b ▁marked  "]),
        (###"{"type": "Digits", "individual_digits": false}"###, ["Hello, world! It's ", "2024", "... naïve  x__y a-b ▁marked  "]),
        (###"{"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithNext", "invert": false}"###, ["Hello,", " world!", " It's", " 2024...", " naïve", " ", " x__y", " a-b", " ▁marked", " ", " "]),
        (###"{"type": "Split", "pattern": {"String": "l"}, "behavior": "Removed", "invert": true}"###, ["l", "l", "l"]),
        (###"{"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}"###, ["Hello", ",", " world", "!", " It", "'s", " 2024", "...", " naïve", " ", " x", "__", "y", " a", "-", "b", " ▁", "marked", "  "]),
        (###"{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": false}"###, ["ĠHello,Ġworld!ĠIt'sĠ2024...ĠnaÃ¯veĠĠx__yĠa-bĠâĸģmarkedĠĠ"]),
        (###"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}"###, ["▁Hello,", "▁world!", "▁It's", "▁2024...", "▁naïve", "▁", "▁x__y", "▁a-b", "▁", "▁marked", "▁", "▁"]),
        (###"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": false}"###, ["Hello,▁world!▁It's▁2024...▁naïve▁▁x__y▁a-b▁▁marked▁▁"]),
        (###"{"type": "BertPreTokenizer"}"###, ["Hello", ",", "world", "!", "It", "'", "s", "2024", ".", ".", ".", "naïve", "x", "_", "_", "y", "a", "-", "b", "▁marked"]),
        (###"{"type": "CharDelimiterSplit", "delimiter": "o"}"###, ["Hell", ", w", "rld! It's 2024... naïve  x__y a-b ▁marked  "]),
        (###"{"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}]}"###, ["▁Hello,", "▁world!", "▁It's", "▁2024...", "▁naïve", "▁x__y", "▁a-b", "▁marked"]),
    ]

    @Test func preTokenizersMatchTokenizers() throws {
        for (json, expected) in Self.preTokenizerCases {
            let p = try PipelinePreTokenizer(json: Self.json(json), path: "pre_tokenizer", reader: Self.reader)
            let pieces = p.apply([.init(scalars: Self.scalars(Self.preTokenizerText), atStart: true)]).map(\.scalars)
            #expect(pieces == expected.map(Self.scalars), "\(json): \(pieces.map { stringOfScalars($0) })")
        }
    }

    static let decoderTokens: [String] = ["▁Hel", "lo</w>", "<0xE4>", "<0xBD>", "<0xA0>", "##ld", "▁", "Ġw", "<0xFF>", "x", "don", "'", "t", "."]
    /// (decoder JSON, `decoder.decode(decoderTokens)`)
    static let decoderCases: [(String, String)] = [
        (###"{"type": "ByteLevel"}"###, "▁Hello</w><0xE4><0xBD><0xA0>##ld▁ w<0xFF>xdon't."),
        (###"{"type": "WordPiece", "prefix": "##", "cleanup": true}"###, "▁Hel lo</w> <0xE4> <0xBD> <0xA0>ld ▁ Ġw <0xFF> x don ' t."),
        (###"{"type": "WordPiece", "prefix": "##", "cleanup": false}"###, "▁Hel lo</w> <0xE4> <0xBD> <0xA0>ld ▁ Ġw <0xFF> x don ' t ."),
        (###"{"type": "BPEDecoder", "suffix": ""}"###, " ▁ H e l  l o < / w >  < 0 x E 4 >  < 0 x B D >  < 0 x A 0 >  # # l d  ▁  Ġ w  < 0 x F F >  x  d o n  '  t ."),
        (###"{"type": "BPEDecoder", "suffix": "</w>"}"###, "▁Hello <0xE4><0xBD><0xA0>##ld▁Ġw<0xFF>xdon't."),
        (###"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}"###, "Hello</w><0xE4><0xBD><0xA0>##ld Ġw<0xFF>xdon't."),
        (###"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": true}"###, " Hello</w><0xE4><0xBD><0xA0>##ld Ġw<0xFF>xdon't."),
        (###"{"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}"###, "Hello</w>你##ld Ġw�xdon't."),
    ]

    @Test func decodersMatchTokenizers() throws {
        for (json, expected) in Self.decoderCases {
            let d = try PipelineDecoder(json: Self.json(json), path: "decoder", reader: Self.reader)
            #expect(Self.scalars(d.decode(Self.decoderTokens)) == Self.scalars(expected), "\(json): \(d.decode(Self.decoderTokens))")
        }
    }

    /// (name, tokenizer.json, [(text, ids, decoded, decoded skipping special tokens)])
    static let modelCases: [(String, String, [(String, [Int32], String, String)])] = [
        ("prefix", ###"{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null, "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true}, "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": "##", "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false, "vocab": {"<unk>": 0, "a": 1, "b": 2, "##a": 3, "##b": 4, "ab": 5, "##ab": 6, "abab": 7}, "merges": [["a", "##b"], ["##a", "##b"], ["ab", "##ab"]]}}"###, [
            ("abab ab ba bxx xa", [7, 5, 2, 3, 2, 0, 0, 0, 3], "abab ab ba b <unk> <unk> <unk>a", "abab ab ba b <unk> <unk> <unk>a"),
            ("aab", [1, 6], "aab", "aab"),
            ("x", [0], "<unk>", "<unk>")]),
        ("suffix-fuse-unk", ###"{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": {"type": "BPEDecoder", "suffix": "</w>"}, "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null, "end_of_word_suffix": "</w>", "fuse_unk": true, "byte_fallback": false, "ignore_merges": false, "vocab": {"<unk>": 0, "a": 1, "b": 2, "a</w>": 3, "b</w>": 4, "ab</w>": 5, "ab": 6}, "merges": [["a", "b</w>"], ["a", "b"]]}}"###, [
            ("ab abab xxa AB", [5, 6, 5, 0, 3, 5], "ab abab <unk>a ab", "ab abab <unk>a ab"),
            ("a,b", [3, 0, 4], "a <unk>b", "a <unk>b"),
            ("xyab", [0, 5], "<unk>ab", "<unk>ab")]),
        ("byte-fallback", ###"{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [{"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}], "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}, "pre_tokenizer": null, "post_processor": null, "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}, "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null, "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false, "vocab": {"<unk>": 0, "<0x00>": 1, "<0x01>": 2, "<0x02>": 3, "<0x03>": 4, "<0x04>": 5, "<0x05>": 6, "<0x06>": 7, "<0x07>": 8, "<0x08>": 9, "<0x09>": 10, "<0x0A>": 11, "<0x0B>": 12, "<0x0C>": 13, "<0x0D>": 14, "<0x0E>": 15, "<0x0F>": 16, "<0x10>": 17, "<0x11>": 18, "<0x12>": 19, "<0x13>": 20, "<0x14>": 21, "<0x15>": 22, "<0x16>": 23, "<0x17>": 24, "<0x18>": 25, "<0x19>": 26, "<0x1A>": 27, "<0x1B>": 28, "<0x1C>": 29, "<0x1D>": 30, "<0x1E>": 31, "<0x1F>": 32, "<0x20>": 33, "<0x21>": 34, "<0x22>": 35, "<0x23>": 36, "<0x24>": 37, "<0x25>": 38, "<0x26>": 39, "<0x27>": 40, "<0x28>": 41, "<0x29>": 42, "<0x2A>": 43, "<0x2B>": 44, "<0x2C>": 45, "<0x2D>": 46, "<0x2E>": 47, "<0x2F>": 48, "<0x30>": 49, "<0x31>": 50, "<0x32>": 51, "<0x33>": 52, "<0x34>": 53, "<0x35>": 54, "<0x36>": 55, "<0x37>": 56, "<0x38>": 57, "<0x39>": 58, "<0x3A>": 59, "<0x3B>": 60, "<0x3C>": 61, "<0x3D>": 62, "<0x3E>": 63, "<0x3F>": 64, "<0x40>": 65, "<0x41>": 66, "<0x42>": 67, "<0x43>": 68, "<0x44>": 69, "<0x45>": 70, "<0x46>": 71, "<0x47>": 72, "<0x48>": 73, "<0x49>": 74, "<0x4A>": 75, "<0x4B>": 76, "<0x4C>": 77, "<0x4D>": 78, "<0x4E>": 79, "<0x4F>": 80, "<0x50>": 81, "<0x51>": 82, "<0x52>": 83, "<0x53>": 84, "<0x54>": 85, "<0x55>": 86, "<0x56>": 87, "<0x57>": 88, "<0x58>": 89, "<0x59>": 90, "<0x5A>": 91, "<0x5B>": 92, "<0x5C>": 93, "<0x5D>": 94, "<0x5E>": 95, "<0x5F>": 96, "<0x60>": 97, "<0x61>": 98, "<0x62>": 99, "<0x63>": 100, "<0x64>": 101, "<0x65>": 102, "<0x66>": 103, "<0x67>": 104, "<0x68>": 105, "<0x69>": 106, "<0x6A>": 107, "<0x6B>": 108, "<0x6C>": 109, "<0x6D>": 110, "<0x6E>": 111, "<0x6F>": 112, "<0x70>": 113, "<0x71>": 114, "<0x72>": 115, "<0x73>": 116, "<0x74>": 117, "<0x75>": 118, "<0x76>": 119, "<0x77>": 120, "<0x78>": 121, "<0x79>": 122, "<0x7A>": 123, "<0x7B>": 124, "<0x7C>": 125, "<0x7D>": 126, "<0x7E>": 127, "<0x7F>": 128, "<0x80>": 129, "<0x81>": 130, "<0x82>": 131, "<0x83>": 132, "<0x84>": 133, "<0x85>": 134, "<0x86>": 135, "<0x87>": 136, "<0x88>": 137, "<0x89>": 138, "<0x8A>": 139, "<0x8B>": 140, "<0x8C>": 141, "<0x8D>": 142, "<0x8E>": 143, "<0x8F>": 144, "<0x90>": 145, "<0x91>": 146, "<0x92>": 147, "<0x93>": 148, "<0x94>": 149, "<0x95>": 150, "<0x96>": 151, "<0x97>": 152, "<0x98>": 153, "<0x99>": 154, "<0x9A>": 155, "<0x9B>": 156, "<0x9C>": 157, "<0x9D>": 158, "<0x9E>": 159, "<0x9F>": 160, "<0xA0>": 161, "<0xA1>": 162, "<0xA2>": 163, "<0xA3>": 164, "<0xA4>": 165, "<0xA5>": 166, "<0xA6>": 167, "<0xA7>": 168, "<0xA8>": 169, "<0xA9>": 170, "<0xAA>": 171, "<0xAB>": 172, "<0xAC>": 173, "<0xAD>": 174, "<0xAE>": 175, "<0xAF>": 176, "<0xB0>": 177, "<0xB1>": 178, "<0xB2>": 179, "<0xB3>": 180, "<0xB4>": 181, "<0xB5>": 182, "<0xB6>": 183, "<0xB7>": 184, "<0xB8>": 185, "<0xB9>": 186, "<0xBA>": 187, "<0xBB>": 188, "<0xBC>": 189, "<0xBD>": 190, "<0xBE>": 191, "<0xBF>": 192, "<0xC0>": 193, "<0xC1>": 194, "<0xC2>": 195, "<0xC3>": 196, "<0xC4>": 197, "<0xC5>": 198, "<0xC6>": 199, "<0xC7>": 200, "<0xC8>": 201, "<0xC9>": 202, "<0xCA>": 203, "<0xCB>": 204, "<0xCC>": 205, "<0xCD>": 206, "<0xCE>": 207, "<0xCF>": 208, "<0xD0>": 209, "<0xD1>": 210, "<0xD2>": 211, "<0xD3>": 212, "<0xD4>": 213, "<0xD5>": 214, "<0xD6>": 215, "<0xD7>": 216, "<0xD8>": 217, "<0xD9>": 218, "<0xDA>": 219, "<0xDB>": 220, "<0xDC>": 221, "<0xDD>": 222, "<0xDE>": 223, "<0xDF>": 224, "<0xE0>": 225, "<0xE1>": 226, "<0xE2>": 227, "<0xE3>": 228, "<0xE4>": 229, "<0xE5>": 230, "<0xE6>": 231, "<0xE7>": 232, "<0xE8>": 233, "<0xE9>": 234, "<0xEA>": 235, "<0xEB>": 236, "<0xEC>": 237, "<0xED>": 238, "<0xEE>": 239, "<0xEF>": 240, "<0xF0>": 241, "<0xF1>": 242, "<0xF2>": 243, "<0xF3>": 244, "<0xF4>": 245, "<0xF5>": 246, "<0xF6>": 247, "<0xF7>": 248, "<0xF8>": 249, "<0xF9>": 250, "<0xFA>": 251, "<0xFB>": 252, "<0xFC>": 253, "<0xFD>": 254, "<0xFE>": 255, "<0xFF>": 256, "h": 257, "i": 258, "hi": 259, "▁": 260, "▁hi": 261, "hih": 262}, "merges": [["h", "i"], ["▁", "hi"]]}}"###, [
            ("hi 你 hi", [261, 260, 229, 190, 161, 261], "hi 你 hi", "hi 你 hi"),
            ("hih", [261, 257], "hih", "hih"),
            ("<unk>hi", [0, 261], "<unk> hi", "hi")]),
        ("ignore-merges", ###"{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null, "decoder": null, "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null, "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": true, "vocab": {"<unk>": 0, "<0x00>": 1, "<0x01>": 2, "<0x02>": 3, "<0x03>": 4, "<0x04>": 5, "<0x05>": 6, "<0x06>": 7, "<0x07>": 8, "<0x08>": 9, "<0x09>": 10, "<0x0A>": 11, "<0x0B>": 12, "<0x0C>": 13, "<0x0D>": 14, "<0x0E>": 15, "<0x0F>": 16, "<0x10>": 17, "<0x11>": 18, "<0x12>": 19, "<0x13>": 20, "<0x14>": 21, "<0x15>": 22, "<0x16>": 23, "<0x17>": 24, "<0x18>": 25, "<0x19>": 26, "<0x1A>": 27, "<0x1B>": 28, "<0x1C>": 29, "<0x1D>": 30, "<0x1E>": 31, "<0x1F>": 32, "<0x20>": 33, "<0x21>": 34, "<0x22>": 35, "<0x23>": 36, "<0x24>": 37, "<0x25>": 38, "<0x26>": 39, "<0x27>": 40, "<0x28>": 41, "<0x29>": 42, "<0x2A>": 43, "<0x2B>": 44, "<0x2C>": 45, "<0x2D>": 46, "<0x2E>": 47, "<0x2F>": 48, "<0x30>": 49, "<0x31>": 50, "<0x32>": 51, "<0x33>": 52, "<0x34>": 53, "<0x35>": 54, "<0x36>": 55, "<0x37>": 56, "<0x38>": 57, "<0x39>": 58, "<0x3A>": 59, "<0x3B>": 60, "<0x3C>": 61, "<0x3D>": 62, "<0x3E>": 63, "<0x3F>": 64, "<0x40>": 65, "<0x41>": 66, "<0x42>": 67, "<0x43>": 68, "<0x44>": 69, "<0x45>": 70, "<0x46>": 71, "<0x47>": 72, "<0x48>": 73, "<0x49>": 74, "<0x4A>": 75, "<0x4B>": 76, "<0x4C>": 77, "<0x4D>": 78, "<0x4E>": 79, "<0x4F>": 80, "<0x50>": 81, "<0x51>": 82, "<0x52>": 83, "<0x53>": 84, "<0x54>": 85, "<0x55>": 86, "<0x56>": 87, "<0x57>": 88, "<0x58>": 89, "<0x59>": 90, "<0x5A>": 91, "<0x5B>": 92, "<0x5C>": 93, "<0x5D>": 94, "<0x5E>": 95, "<0x5F>": 96, "<0x60>": 97, "<0x61>": 98, "<0x62>": 99, "<0x63>": 100, "<0x64>": 101, "<0x65>": 102, "<0x66>": 103, "<0x67>": 104, "<0x68>": 105, "<0x69>": 106, "<0x6A>": 107, "<0x6B>": 108, "<0x6C>": 109, "<0x6D>": 110, "<0x6E>": 111, "<0x6F>": 112, "<0x70>": 113, "<0x71>": 114, "<0x72>": 115, "<0x73>": 116, "<0x74>": 117, "<0x75>": 118, "<0x76>": 119, "<0x77>": 120, "<0x78>": 121, "<0x79>": 122, "<0x7A>": 123, "<0x7B>": 124, "<0x7C>": 125, "<0x7D>": 126, "<0x7E>": 127, "<0x7F>": 128, "<0x80>": 129, "<0x81>": 130, "<0x82>": 131, "<0x83>": 132, "<0x84>": 133, "<0x85>": 134, "<0x86>": 135, "<0x87>": 136, "<0x88>": 137, "<0x89>": 138, "<0x8A>": 139, "<0x8B>": 140, "<0x8C>": 141, "<0x8D>": 142, "<0x8E>": 143, "<0x8F>": 144, "<0x90>": 145, "<0x91>": 146, "<0x92>": 147, "<0x93>": 148, "<0x94>": 149, "<0x95>": 150, "<0x96>": 151, "<0x97>": 152, "<0x98>": 153, "<0x99>": 154, "<0x9A>": 155, "<0x9B>": 156, "<0x9C>": 157, "<0x9D>": 158, "<0x9E>": 159, "<0x9F>": 160, "<0xA0>": 161, "<0xA1>": 162, "<0xA2>": 163, "<0xA3>": 164, "<0xA4>": 165, "<0xA5>": 166, "<0xA6>": 167, "<0xA7>": 168, "<0xA8>": 169, "<0xA9>": 170, "<0xAA>": 171, "<0xAB>": 172, "<0xAC>": 173, "<0xAD>": 174, "<0xAE>": 175, "<0xAF>": 176, "<0xB0>": 177, "<0xB1>": 178, "<0xB2>": 179, "<0xB3>": 180, "<0xB4>": 181, "<0xB5>": 182, "<0xB6>": 183, "<0xB7>": 184, "<0xB8>": 185, "<0xB9>": 186, "<0xBA>": 187, "<0xBB>": 188, "<0xBC>": 189, "<0xBD>": 190, "<0xBE>": 191, "<0xBF>": 192, "<0xC0>": 193, "<0xC1>": 194, "<0xC2>": 195, "<0xC3>": 196, "<0xC4>": 197, "<0xC5>": 198, "<0xC6>": 199, "<0xC7>": 200, "<0xC8>": 201, "<0xC9>": 202, "<0xCA>": 203, "<0xCB>": 204, "<0xCC>": 205, "<0xCD>": 206, "<0xCE>": 207, "<0xCF>": 208, "<0xD0>": 209, "<0xD1>": 210, "<0xD2>": 211, "<0xD3>": 212, "<0xD4>": 213, "<0xD5>": 214, "<0xD6>": 215, "<0xD7>": 216, "<0xD8>": 217, "<0xD9>": 218, "<0xDA>": 219, "<0xDB>": 220, "<0xDC>": 221, "<0xDD>": 222, "<0xDE>": 223, "<0xDF>": 224, "<0xE0>": 225, "<0xE1>": 226, "<0xE2>": 227, "<0xE3>": 228, "<0xE4>": 229, "<0xE5>": 230, "<0xE6>": 231, "<0xE7>": 232, "<0xE8>": 233, "<0xE9>": 234, "<0xEA>": 235, "<0xEB>": 236, "<0xEC>": 237, "<0xED>": 238, "<0xEE>": 239, "<0xEF>": 240, "<0xF0>": 241, "<0xF1>": 242, "<0xF2>": 243, "<0xF3>": 244, "<0xF4>": 245, "<0xF5>": 246, "<0xF6>": 247, "<0xF7>": 248, "<0xF8>": 249, "<0xF9>": 250, "<0xFA>": 251, "<0xFB>": 252, "<0xFC>": 253, "<0xFD>": 254, "<0xFE>": 255, "<0xFF>": 256, "h": 257, "i": 258, "hi": 259, "▁": 260, "▁hi": 261, "hih": 262}, "merges": [["h", "i"], ["▁", "hi"]]}}"###, [
            ("hih hi hihi zz", [262, 259, 259, 259, 0, 0], "hih hi hi hi <unk> <unk>", "hih hi hi hi <unk> <unk>")]),
        ("wordpiece-seq", ###"{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [{"id": 1, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}], "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "Lowercase"}, {"type": "StripAccents"}]}, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true}, "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": {"[UNK]": 0, "[SEP]": 1, "cafe": 2, "naive": 3, "na": 4, "##ive": 5, ",": 6, "!": 7, "hello": 8, "##s": 9}}}"###, [
            ("Café, NAÏVE! Hellos[SEP]naive", [2, 6, 3, 7, 8, 9, 1, 3], "cafe, naive! hellos [SEP] naive", "cafe, naive! hellos naive"),
            ("xyz", [0], "[UNK]", "[UNK]")]),
        // Metaspace prepend_scheme "first" after a normaliser deleted the leading characters: no "▁".
        ("metaspace-first-strip", ###"{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [{"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}], "normalizer": {"type": "Strip", "strip_left": true, "strip_right": true}, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}, "post_processor": null, "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}, "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": {"▁Hello": 0, "Hello": 1, "[UNK]": 2, "[SEP]": 3, "▁": 4}}}"###, [
            ("  Hello", [1], "Hello", "Hello"),
            ("Hello", [0], "Hello", "Hello"),
            ("[SEP]Hello", [3, 1], "[SEP]Hello", "Hello"),
            ("Hello[SEP] Hello", [0, 3, 1], "Hello[SEP]Hello", "HelloHello")]),
        ("metaspace-first-strip-accents", ###"{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [{"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}], "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}]}, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}, "post_processor": null, "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}, "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": {"▁Hello": 0, "Hello": 1, "[UNK]": 2, "[SEP]": 3, "▁": 4}}}"###, [
            ("́Hello", [1], "Hello", "Hello"),
            ("Hélló", [0], "Hello", "Hello")]),
        ("metaspace-first-replace-empty", ###"{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [{"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}], "normalizer": {"type": "Replace", "pattern": {"String": "x"}, "content": ""}, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}, "post_processor": null, "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}, "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": {"▁Hello": 0, "Hello": 1, "[UNK]": 2, "[SEP]": 3, "▁": 4}}}"###, [
            ("xHello", [1], "Hello", "Hello"),
            ("Hello x", [0, 4], "Hello ", "Hello "),
            ("yHello", [2], "[UNK]", "[UNK]")]),
        ("metaspace-first-bert-clean", ###"{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [{"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}], "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": false}, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}, "post_processor": null, "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}, "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": {"▁Hello": 0, "Hello": 1, "[UNK]": 2, "[SEP]": 3, "▁": 4}}}"###, [
            ("\u{0007}Hello", [1], "Hello", "Hello"),
            ("​Hello Hello", [1, 0], "Hello Hello", "Hello Hello")]),
    ]

    @Test func modelsEncodeAndDecodeAsTokenizers() throws {
        for (name, json, cases) in Self.modelCases {
            let p = try TokenizerPipeline(data: Data(json.utf8), file: "tokenizer.json")
            for (text, ids, decoded, skipped) in cases {
                #expect(p.encode(text) == ids, "\(name) \(text)")
                #expect(Self.scalars(p.decode(ids)) == Self.scalars(decoded), "\(name) \(ids): \(p.decode(ids))")
                #expect(Self.scalars(p.decode(ids, skipSpecial: true)) == Self.scalars(skipped), "\(name) \(ids) skipping specials")
            }
        }
    }

    /// A tokenizer.json with `model` and the given pipeline fields (JSON texts).
    static func file(model: String = #"{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "</s>": 3}, "merges": [["a", "b"]]}"#,
                     normalizer: String = "null", pre: String = "null", decoder: String = "null") -> String {
        #"{"version": "1.0", "added_tokens": [{"id": 3, "content": "</s>", "special": true}], "normalizer": \#(normalizer), "#
            + #""pre_tokenizer": \#(pre), "post_processor": null, "decoder": \#(decoder), "model": \#(model)}"#
    }

    @Test func generalPipelineLoadsSavesAndReloadsUnchanged() throws {
        let (_, json, cases) = try #require(Self.modelCases.first { $0.0 == "wordpiece-seq" })
        let dir = try TokenizerFileErrorTests.folder(["tokenizer.json": json])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tokenizer = try PretrainedTokenizer.load(directory: dir)
        guard case .pipeline = tokenizer.model else { Issue.record("not the general pipeline: \(tokenizer.model)"); return }
        #expect(tokenizer.encode(cases[0].0) == cases[0].1)
        #expect(tokenizer.endOfTextId == 1 && tokenizer.padId == 1, "[SEP] is end of text by default")
        // Special-token text as ordinary text: "[sep]" normalised, then "[", "sep", "]", none in the vocabulary.
        #expect(tokenizer.encode("[SEP]", allowSpecial: false) == [0, 0, 0])
        let out = dir + "/saved"
        try tokenizer.save(directory: out, modelMaxLength: 64)
        #expect(FileManager.default.contents(atPath: out + "/tokenizer.json") == Data(json.utf8), "tokenizer.json written back byte for byte")
        #expect(String(decoding: FileManager.default.contents(atPath: out + "/tokenizer_config.json") ?? Data(), as: UTF8.self) == """
            {
              "tokenizer_class": "PreTrainedTokenizerFast",
              "eos_token": "[SEP]",
              "sep_token": "[SEP]",
              "pad_token": "[SEP]",
              "model_max_length": 64
            }

            """)
        let again = try PretrainedTokenizer.load(directory: out)
        for (text, ids, decoded, _) in cases {
            #expect(again.encode(text) == ids)
            #expect(Self.scalars(again.decode(ids)) == Self.scalars(decoded))
        }
    }

    /// The fast paths keep what they loaded before: GPT-2's byte-level BPE and BERT's WordPiece.
    @Test func fastPathsStayFastPaths() throws {
        let bpe = try TokenizerFileErrorTests.folder(["tokenizer.json": TokenizerFileErrorTests.bpeText])
        defer { try? FileManager.default.removeItem(atPath: bpe) }
        guard case .byteLevelBPE = try PretrainedTokenizer.load(directory: bpe).model else { Issue.record("GPT-2 BPE left the fast path"); return }
        let wp = try TokenizerFileErrorTests.folder(["vocab.txt": TokenizerFileErrorTests.vocabTxt])
        defer { try? FileManager.default.removeItem(atPath: wp) }
        let bert = try PretrainedTokenizer.load(directory: wp)
        let bertDir = wp + "/saved"
        try bert.save(directory: bertDir)
        try FileManager.default.removeItem(atPath: bertDir + "/vocab.txt")
        guard case .wordPiece = try PretrainedTokenizer.load(directory: bertDir).model else { Issue.record("BERT WordPiece left the fast path"); return }
    }

    /// Every refusal of the general pipeline names the file and the field.
    @Test func unsupportedPartsAreRefusedByField() throws {
        let normalizers = "Sequence, NFD, NFC, NFKD, NFKC, Lowercase, StripAccents, Strip, Replace with a string pattern, Prepend, BertNormalizer"
        let pres = "Sequence, Whitespace, WhitespaceSplit, Punctuation, Digits, Split, ByteLevel, Metaspace, BertPreTokenizer, CharDelimiterSplit"
        let regexNote = "(pipe matches regexes exactly as tokenizers does only for GPT-2's pattern)"
        let cases: [(String, String)] = [
            (Self.file(normalizer: #"{"type": "Precompiled", "precompiled_charsmap": null}"#),
             #"DIR/tokenizer.json: normalizer.type "Precompiled" is not supported (supported normalizers: \#(normalizers))"#),
            (Self.file(normalizer: #"{"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "NMT"}]}"#),
             #"DIR/tokenizer.json: normalizer.normalizers[1].type "NMT" is not supported (supported normalizers: \#(normalizers))"#),
            (Self.file(normalizer: #"{"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}"#),
             #"DIR/tokenizer.json: normalizer.pattern: the regex "\\s+" is not supported \#(regexNote)"#),
            (Self.file(normalizer: #"{"type": "Replace", "pattern": {"String": ""}, "content": " "}"#),
             #"DIR/tokenizer.json: normalizer.pattern must be a non-empty {"String": …} (a regex Replace is not supported)"#),
            (Self.file(normalizer: #"{"type": "Strip", "strip_left": "yes"}"#),
             #"DIR/tokenizer.json: normalizer.strip_left must be true or false, got "yes""#),
            (Self.file(pre: #"{"type": "UnicodeScripts"}"#),
             #"DIR/tokenizer.json: pre_tokenizer.type "UnicodeScripts" is not supported (supported pre-tokenizers: \#(pres))"#),
            (Self.file(pre: #"{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\d+"}, "behavior": "Isolated"}]}"#),
             #"DIR/tokenizer.json: pre_tokenizer.pretokenizers[0].pattern: the regex "\\d+" is not supported \#(regexNote)"#),
            (Self.file(pre: #"{"type": "Split", "pattern": {"String": " "}, "behavior": "Nope"}"#),
             #"DIR/tokenizer.json: pre_tokenizer.behavior must be one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous; got "Nope""#),
            (Self.file(pre: #"{"type": "Split", "pattern": " ", "behavior": "Isolated"}"#),
             #"DIR/tokenizer.json: pre_tokenizer.pattern must be {"String": …} or {"Regex": …}"#),
            (Self.file(pre: #"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"}"#),
             #"DIR/tokenizer.json: pre_tokenizer.prepend_scheme must be "first", "always" or "never", got "sometimes""#),
            (Self.file(pre: #"{"type": "Metaspace", "replacement": "__"}"#),
             #"DIR/tokenizer.json: pre_tokenizer.replacement must be a single character, got "__""#),
            (Self.file(pre: #"{"type": "Sequence"}"#), #"DIR/tokenizer.json: pre_tokenizer.pretokenizers must be a list"#),
            (Self.file(pre: "7"), #"DIR/tokenizer.json: pre_tokenizer must be an object or null"#),
            (Self.file(decoder: #"{"type": "CTC", "pad_token": "<pad>"}"#),
             #"DIR/tokenizer.json: decoder.type "CTC" is not supported (supported decoders: Sequence, ByteLevel, WordPiece, BPEDecoder, "#
                + #"Metaspace, Replace with a string pattern, ByteFallback, Fuse, Strip)"#),
            (Self.file(decoder: #"{"type": "Strip", "content": " ", "start": -1}"#),
             #"DIR/tokenizer.json: decoder.start must be a non-negative integer, got -1"#),
            (Self.file(model: #"{"type": "BPE", "dropout": 0.1, "vocab": {"a": 0}, "merges": []}"#),
             "DIR/tokenizer.json: model.dropout must be null (BPE dropout would make encodings random)"),
            (Self.file(model: #"{"type": "BPE", "unk_token": "<unk>", "vocab": {"a": 0}, "merges": []}"#),
             #"DIR/tokenizer.json: model.unk_token "<unk>" is not in model.vocab"#),
            (Self.file(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "c"]]}"#),
             #"DIR/tokenizer.json: model.merges[0] ["a", "c"] refers to tokens missing from model.vocab"#),
            (Self.file(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]}"#),
             #"DIR/tokenizer.json: model.merges[0] ["a", "b"] makes a token missing from model.vocab"#),
            (Self.file(model: #"{"type": "BPE", "fuse_unk": 1, "vocab": {"a": 0}, "merges": []}"#),
             "DIR/tokenizer.json: model.fuse_unk must be true or false, got 1"),
            (Self.file(model: #"{"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 2}}"#, pre: #"{"type": "Whitespace"}"#),
             "DIR/tokenizer.json: model.vocab ids must run from 0 without gaps"),
            (Self.file(model: #"{"type": "BPE", "vocab": {"a": 0}, "merges": []}"#, pre: #"{"type": "Whitespace"}"#).replacingOccurrences(of: "\"special\": true", with: "\"special\": false"),
             "DIR: no end-of-text token: the tokenizer names no eos_token and has no default (<|endoftext|> or [SEP]); choose one with eos_token"),
        ]
        for (json, expected) in cases {
            #expect(try TokenizerFileErrorTests.failure(["tokenizer.json": json]) == expected)
        }
    }

    /// Malformed files outside the fast paths' shape get the general pipeline's messages.
    @Test func malformedGeneralFilesNameTheField() throws {
        let ws = #"{"type": "Whitespace"}"#
        let cases: [(String, String)] = [
            (Self.file(model: #"{"type": "BPE", "vocab": {"a": "x"}, "merges": []}"#, pre: ws),
             #"DIR/tokenizer.json: model.vocab["a"] must be a non-negative integer id, got "x""#),
            (Self.file(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}"#, pre: ws),
             #"DIR/tokenizer.json: model.vocab gives id 0 to both "a" and "b""#),
            (Self.file(model: #"{"type": "BPE", "vocab": [], "merges": []}"#, pre: ws), #"DIR/tokenizer.json: model.vocab must be an object {token: id}"#),
            (Self.file(model: #"{"type": "BPE", "vocab": {"a": 0}, "merges": 5}"#, pre: ws), "DIR/tokenizer.json: model.merges must be a list"),
            (Self.file(model: #"{"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}"#, pre: ws),
             "DIR/tokenizer.json: model.merges[0] must be a pair of strings"),
            (Self.file(model: #"{"type": "BPE", "continuing_subword_prefix": 5, "vocab": {"a": 0}, "merges": []}"#, pre: ws),
             "DIR/tokenizer.json: model.continuing_subword_prefix must be a string or null, got 5"),
            (Self.file(pre: #"{"kind": "Whitespace"}"#), "DIR/tokenizer.json: pre_tokenizer.type must be a string"),
            (Self.file(model: #"{"type": "WordPiece", "vocab": {"a": 0}}"#, pre: ws),
             #"DIR/tokenizer.json: the unknown token "[UNK]" is not in the vocabulary (add it, or name the right unk_token)"#),
            (Self.file(pre: ws).replacingOccurrences(of: #""added_tokens": [{"id": 3, "content": "</s>", "special": true}]"#, with: #""added_tokens": {}"#),
             "DIR/tokenizer.json: added_tokens must be a list"),
            (Self.file(pre: ws).replacingOccurrences(of: #""id": 3"#, with: #""id": -3"#),
             #"DIR/tokenizer.json: added_tokens[0] needs a non-negative integer "id" and a string "content""#),
        ]
        for (json, expected) in cases {
            #expect(try TokenizerFileErrorTests.failure(["tokenizer.json": json]) == expected)
        }
    }
}
