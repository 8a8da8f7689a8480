import JSONQuoting
import Foundation
import PipeTestSupport
import Testing
@testable import Stages

@Suite("dataset artifact format")
struct DatasetFormatTests {
    @Test func recordLinesAreCanonical() {
        #expect(DatasetRecord.text("a\"b").jsonLine == #"{"text":"a\"b"}"#)
        #expect(DatasetRecord.labelled(LabelledRecord(text: "好", label: 1)).jsonLine == #"{"label":1,"text":"好"}"#)
        let pc = DatasetRecord.promptCompletion(PromptCompletionRecord(
            fields: ["instruction": .string("Add"), "input": .string("1 2"), "n": .number(3), "ok": .bool(true), "tags": .strings(["x", "y"])],
            completion: "3"))
        #expect(pc.jsonLine == #"{"completion":"3","fields":{"input":"1 2","instruction":"Add","n":3,"ok":true,"tags":["x","y"]}}"#)
        let chat = DatasetRecord.promptCompletion(PromptCompletionRecord(
            fields: [:], messages: [ChatMessage(role: "user", content: "hi")], completion: "hello"))
        #expect(chat.jsonLine == #"{"completion":"hello","fields":{},"messages":[{"content":"hi","role":"user"}]}"#)
        let pair = DatasetRecord.preference(PreferenceRecord(fields: ["prompt": .string("p")], chosen: "a", rejected: "b", margin: 0.5))
        #expect(pair.jsonLine == #"{"chosen":"a","fields":{"prompt":"p"},"margin":0.5,"rejected":"b"}"#)
        #expect(DatasetRecord.prompt(fields: ["prompt": .string("p"), "answer": .number(4)]).jsonLine
            == #"{"fields":{"answer":4,"prompt":"p"}}"#)
    }

    @Test func manifestRoundTrips() throws {
        let manifest = DatasetManifest(kind: .preference, splits: [("train", 9), ("judge", 2), ("test", 1)],
                                       fields: ["prompt", "category"], sources: [.init(path: "a.jsonl", digest: "ab")])
        #expect(manifest.json == #"{"fields":["category","prompt"],"format":"pipe.dataset/1","kind":"preference","# +
            #""sources":[{"digest":"ab","path":"a.jsonl"}],"splits":{"judge":2,"test":1,"train":9}}"# + "\n")
        #expect(try DatasetManifest.parse(Array(manifest.json.utf8), file: "d.json") == manifest)
        #expect(throws: StageError.failed("d.json: format \"x\" is not pipe.dataset/1 (is the input a dataset stage's `data` output?)")) {
            try DatasetManifest.parse(Array(#"{"format":"x"}"#.utf8), file: "d.json")
        }
        // A damaged count is an error naming the split, never a trap: too large for Int, fractional, negative.
        for count in ["1e300", "2.5", "-1", "-0", "\"3\""] {
            let text = #"{"fields":[],"format":"pipe.dataset/1","kind":"prompt","sources":[],"splits":{"train":"# + count + "}}"
            #expect(throws: StageError.self, "\(count)") { try DatasetManifest.parse(Array(text.utf8), file: "d.json") }
            do { _ = try DatasetManifest.parse(Array(text.utf8), file: "d.json") } catch {
                #expect("\(error)".contains("split \"train\": count must be a non-negative integer"), "\(error)")
            }
        }
    }

    @Test func writerAndReaderRoundTrip() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("dataset-format")
        let records: [DatasetRecord] = [
            .promptCompletion(PromptCompletionRecord(fields: ["prompt": .string("p1")], completion: "c1")),
            .promptCompletion(PromptCompletionRecord(fields: [:], messages: [ChatMessage(role: "system", content: "s"),
                                                                      ChatMessage(role: "user", content: "u")], completion: "c2")),
        ]
        try DatasetWriter.write(kind: .promptCompletion, splits: ["train": records, "test": []], to: dir)
        let reader = try DatasetReader(directory: dir)
        #expect(reader.kind == .promptCompletion)
        #expect(reader.splits == ["test", "train"])
        #expect(reader.manifest.fields == ["prompt"])
        #expect(try reader.records(in: "train") == records)
        #expect(try reader.records(in: "test").isEmpty)
        #expect(throws: StageError.failed("\(dir): the dataset has no split 'valid' (it has 'test', 'train')")) {
            try reader.records(in: "valid")
        }
        try "{\"completion\":1,\"fields\":{}}\n".write(toFile: dir + "/test.jsonl", atomically: true, encoding: .utf8)
        #expect(throws: StageError.failed("\(dir)/test.jsonl:1: expected a string \"completion\"")) { try reader.records(in: "test") }
        #expect(throws: StageError.badInput("prompts", "dataset kind 'prompt-completion' cannot be used here (expected 'prompt'; set `kind:` on the dataset stage)")) {
            try reader.require([.prompt], input: "prompts")
        }
    }

    @Test func jsonParser() throws {
        #expect(try JSONParser.parse(Array(#" {"a": [1, -2.5e1, true, null, "x\u00e9\ud83d\ude00\n"]} "#.utf8))
            == .object([JSONMember("a", .array([.number(1), .number(-25), .bool(true), .null, .string("xé😀\n")]))]))
        func failure(_ text: String) -> JSONSyntaxError? {
            do { _ = try JSONParser.parse(Array(text.utf8)); return nil } catch { return error }
        }
        #expect(failure(#"{"a":1,"a":2}"#) == JSONSyntaxError(offset: 7, message: #"duplicate key "a""#))
        let manyKeys = "{" + (0..<20).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + #","k3":0}"#
        #expect(failure(manyKeys) == JSONSyntaxError(offset: manyKeys.utf8.count - 7, message: #"duplicate key "k3""#))
        #expect(failure(#"{"a":01}"#) == JSONSyntaxError(offset: 5, message: "invalid number (leading zero)"))
        #expect(failure(#"{"a":"x}"#) == JSONSyntaxError(offset: 5, message: "unterminated string"))
        #expect(failure(#"[1,]"#) == JSONSyntaxError(offset: 3, message: "unexpected character ']' (expected a value)"))
        #expect(failure(#"{"a":1} x"#) == JSONSyntaxError(offset: 8, message: "unexpected text after the JSON value"))
        #expect(failure(#"["\ud800"]"#) == JSONSyntaxError(offset: 8, message: #"unpaired surrogate \uD800 in a string"#))
    }

    @Test func lineReaderStreamsLongLinesAndCRLF() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("line-reader")
        let long = String(repeating: "x", count: 100)
        try ("a\r\n\n" + long + "\nlast").write(toFile: dir + "/f", atomically: true, encoding: .utf8)
        let reader = try LineReader(path: dir + "/f", chunkSize: 16)
        var lines: [(Int, Int, String)] = []
        while let line = try reader.nextLine({ String(decoding: $0, as: UTF8.self) }) {
            lines.append((reader.lineNumber, reader.lineOffset, line))
        }
        #expect(lines.map(\.2) == ["a", "", long, "last"])
        #expect(lines.map(\.0) == [1, 2, 3, 4])
        #expect(lines.map(\.1) == [0, 3, 4, 105])
    }
}

@Suite("dataset text cleaning")
struct TextCleanerTests {
    static let samples = [
        "  这部电影\u{3000}很好看，\t推荐！\r\n", "\u{FEFF}zero\u{200B}width", "e\u{301}", "ＡＢＣ，１２３", "Å\u{212B}", "가\u{11A8}",
        "\u{F900}豈", "か\u{3099}", "a\u{0085}b\u{00A0}c", "tab\there\nnew  line ", "\u{2000}em\u{2001}", "x\u{10FFFF}y\u{E0001}z",
        "naïve café 😀 \u{1F1FA}\u{1F1F8}", "", " \n\t ", "ä\u{0323}", "\u{0958}", "\u{0340}",
    ]

    @Test func collapseIsExactlyTextNormalizer() {
        let cleaner = TextCleaner()
        for sample in Self.samples + Self.samples.reversed() {
            #expect(cleaner.collapse(sample) == TextNormalizer.normalize(sample), "\(sample.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    @Test func keepLinesKeepsLineBreaks() {
        let cleaner = TextCleaner()
        #expect(cleaner.keepLines("\r\n\n  def f():\r\n      return 1  \r\n\n\n") == "def f():\n      return 1")
        #expect(cleaner.keepLines("a\u{200B}b\u{3000}\nc\u{0085}") == "ab\nc")
        #expect(cleaner.keepLines("e\u{301}\tx") == "\u{E9}\tx")
        #expect(cleaner.keepLines(" \n \t\n") == "")
        #expect(cleaner.keepLines("one\n\n\ntwo") == "one\n\n\ntwo")
    }

    @Test func alwaysNFCBlocksReallyAreNFC() {
        for range in [0x0000...0x02FF, 0x2010...0x206F, 0x3000...0x3029, 0x3030...0x3098, 0x309B...0x30FF, 0xAC00...0xD7A3, 0xFF00...0xFFEF] {
            for v in range {
                guard let scalar = Unicode.Scalar(UInt32(v)) else { continue }
                #expect(TextCleaner.isAlwaysNFC(scalar.value))
                #expect(scalar.properties.canonicalCombiningClass.rawValue == 0, "U+\(String(v, radix: 16))")
                let alone = String(Character(scalar))
                #expect(alone.precomposedStringWithCanonicalMapping.unicodeScalars.map(\.value) == [scalar.value], "U+\(String(v, radix: 16))")
                // Never the second half of a composition: after a letter it stays as it is.
                let pair = "a" + alone
                #expect(pair.precomposedStringWithCanonicalMapping.unicodeScalars.map(\.value) == [0x61, scalar.value], "U+\(String(v, radix: 16))")
            }
        }
    }
}

@Suite("dataset JSON bytes")
struct JSONBytesTests {
    @Test func quotingMatchesJSONText() {
        for text in ["", "plain", "quote \" and \\ back", "line\nfeed\r\ttab", "\u{0}\u{1F}\u{7F}", "\u{2028}\u{2029}",
                     "中文，😀", "\u{80}\u{9F}", "e\u{301}"] {
            var out: [UInt8] = []
            JSONBytes.appendQuoted(text, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == JSONText.quoted(text), "\(Array(text.unicodeScalars))")
        }
        let settings = try? DatasetSettings(DirectoryStageContext.declaredParams(kind: "dataset", overrides: [:]))
        for key in ["a", "中文", "{\"prompt\":\"x\"}"] {
            let u = ContentSplit.unitHash(key, salt: "pipe.split.v1")
            let expected = u < 0.05 ? "valid" : u < 0.10 ? "test" : "train"
            #expect(settings?.split(ofKey: key) == expected)
        }
    }
}
