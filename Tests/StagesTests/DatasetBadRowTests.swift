import Foundation
import PipeTestSupport
import Testing
@testable import Stages

struct BadRowCase: CustomTestStringConvertible, Sendable {
    var name: String
    var file: String
    var text: String
    var params: [String: StageParamValue] = [:]
    var expected: String
    var testDescription: String { name }
}

private let skip = "set skip_invalid: true to skip such rows"

let badRowCases: [BadRowCase] = [
    BadRowCase(name: "malformed JSON line", file: "data/x.jsonl",
               text: #"{"prompt": "a", "completion": "b"}"# + "\n" + #"{"prompt": "a" "completion": "b"}"#,
               expected: #"data/x.jsonl:2: malformed JSON at column 16: expected ',' or '}' in an object, found '"' (fix the row, or \#(skip))"#),
    BadRowCase(name: "wrong type", file: "data/x.jsonl", text: #"{"prompt": "p", "chosen": 3, "rejected": "r"}"#,
               params: ["kind": .string("preference")],
               expected: #"data/x.jsonl:1: field "chosen": expected a string, found a number (map another column with chosen_column, or \#(skip))"#),
    BadRowCase(name: "missing column", file: "data/x.jsonl", text: #"{"prompt": "p", "answer": "b"}"#,
               expected: #"data/x.jsonl:1: field "completion": missing (map another column with completion_column, or \#(skip))"#),
    BadRowCase(name: "empty completion", file: "data/x.jsonl", text: "{\"prompt\": \"p\", \"completion\": \"b\"}\n{\"prompt\": \"p\", \"completion\": \" \\n \"}\n",
               expected: #"data/x.jsonl:2: field "completion": empty (\#(skip))"#),
    BadRowCase(name: "one ranked response", file: "data/r.jsonl", text: #"{"prompt": "p", "responses": ["only"]}"#,
               params: ["kind": .string("preference")],
               expected: #"data/r.jsonl:1: field "responses": 1 response, a preference needs at least 2 (best first) (\#(skip))"#),
    BadRowCase(name: "ranked response not a string", file: "data/r.jsonl", text: #"{"prompt": "p", "responses": ["a", 2]}"#,
               params: ["kind": .string("preference")],
               expected: #"data/r.jsonl:1: field "responses": item 1: expected a string, found a number (\#(skip))"#),
    BadRowCase(name: "identical pair", file: "data/p.jsonl", text: #"{"prompt": "p", "chosen": "same", "rejected": "same "}"#,
               params: ["kind": .string("preference")],
               expected: #"data/p.jsonl:1: field "chosen": the same text as "rejected" (a pair needs two different responses) (\#(skip))"#),
    BadRowCase(name: "array element missing output", file: "data/a.json",
               text: "[\n  {\"instruction\": \"i\", \"output\": \"o\"},\n  {\"instruction\": \"j\",\n   \"input\": \"x\"}\n]\n",
               expected: #"data/a.json:3 (element 1): field "output": missing (map another column with output_column, or \#(skip))"#),
    BadRowCase(name: "malformed array element", file: "data/a.json", text: "[\n {\"instruction\": \"i\", \"output\": tru}\n]",
               expected: #"data/a.json:2 (element 0): malformed JSON: invalid literal (expected true) (fix the row, or \#(skip))"#),
    BadRowCase(name: "not an object", file: "data/x.jsonl", text: #"["p", "c"]"#,
               expected: #"data/x.jsonl:1: expected a JSON object, found an array (\#(skip))"#),
    BadRowCase(name: "chat without a final assistant turn", file: "data/c.jsonl",
               text: #"{"messages": [{"role": "user", "content": "hi"}]}"#,
               expected: #"data/c.jsonl:1: field "messages": the last message must be from "assistant" (it is the completion to learn) (\#(skip))"#),
    BadRowCase(name: "chat message without content", file: "data/c.jsonl",
               text: #"{"messages": [{"role": "user"}, {"role": "assistant", "content": "x"}]}"#,
               expected: #"data/c.jsonl:1: field "messages": message 0: expected {"role": string, "content": string or a list of text parts} (\#(skip))"#),
    BadRowCase(name: "label out of range", file: "data/l.jsonl", text: #"{"text": "ok", "label": 2}"#,
               params: ["kind": .string("labelled")],
               expected: #"data/l.jsonl:1: field "label": expected 0 or 1, found 2 (\#(skip))"#),
    BadRowCase(name: "margin not a number", file: "data/p.jsonl", text: #"{"prompt": "p", "chosen": "a", "rejected": "b", "m": "big"}"#,
               params: ["kind": .string("preference"), "margin_column": .string("m")],
               expected: #"data/p.jsonl:1: field "m": expected a number, found a string (map another column with margin_column, or \#(skip))"#),
    BadRowCase(name: "implicit pair with a prefix response", file: "data/p.jsonl", text: #"{"chosen": "abc", "rejected": "abcdef"}"#,
               params: ["kind": .string("preference")],
               expected: #"data/p.jsonl:1: field "chosen": nothing left after the prompt shared with the other response (one response is a prefix of the other) (\#(skip))"#),
]

@Suite("dataset stage: bad rows")
struct DatasetBadRowTests {
    @Test(arguments: badRowCases)
    func exactMessage(_ c: BadRowCase) throws {
        var message = ""
        do { _ = try DatasetFixture.importing(file: c.file, c.text, c.params) } catch { message = "\(error)" }
        #expect(message == c.expected)
    }

    @Test(arguments: badRowCases)
    func skippedAndCountedWithSkipInvalid(_ c: BadRowCase) throws {
        let (_, stats) = try DatasetFixture.importing(file: c.file, c.text, c.params.merging(["skip_invalid": .bool(true)]) { $1 })
        #expect(stats.invalid.values.reduce(0, +) == 1)
    }

    @Test func skipInvalidCountsByReason() throws {
        let rows = [#"{"prompt": "a", "completion": "b"}"#, #"{"prompt": "a" "#, #"{"prompt": 1, "completion": "b"}"#,
                    #"{"completion": "b"}"#, #"{"prompt": "c", "completion": ""}"#, #"[1]"#, #"{"prompt": "d", "completion": "e"}"#]
        let (reader, stats) = try DatasetFixture.importing(file: "x.jsonl", rows.joined(separator: "\n"),
                                                           DatasetFixture.params(["skip_invalid": .bool(true)]))
        #expect(stats.invalid == ["malformed_json": 1, "wrong_type": 1, "missing_field": 1, "empty_field": 1, "not_an_object": 1])
        #expect(stats.rows == 7)
        #expect(stats.kept == 2)
        #expect(try reader.records(in: "train").count == 2)
        #expect(try String(contentsOfFile: reader.directory + "/stats.json", encoding: .utf8).contains(
            #""invalid":{"empty_field":1,"malformed_json":1,"missing_field":1,"not_an_object":1,"wrong_type":1}"#))
    }

    @Test func fileLevelProblemsAreErrorsEvenWhenSkipping() throws {
        func message(_ file: String, _ text: String) -> String {
            do { _ = try DatasetFixture.importing(file: file, text, ["skip_invalid": .bool(true)]); return "" } catch { return "\(error)" }
        }
        #expect(message("data/a.json", "[{\"instruction\": \"i\", \"output\": \"o\"},\n") == "data/a.json: the JSON array is not closed (missing ']' at the end of the file)")
        #expect(message("data/a.json", "{\"instruction\": \"i\"}") == "data/a.json:1: expected a JSON array of rows, found '{' (a .json file holds one array of objects; use .jsonl for one object per line)")
        #expect(message("data/a.json", "[{\"a\": 1}] x") == "data/a.json:1: unexpected text after the end of the JSON array")
        #expect(message("data/a.json", "") == "data/a.json: empty file (expected a JSON array of rows)")
    }

    @Test func invalidUTF8InALabelledFile() throws {
        let dir = try DatasetFixture.folder(["neg.txt": "还行吧就这样\n"])
        try Data([0xE4, 0xBD, 0x0A] + Array("很好很好很好\n".utf8)).write(to: URL(fileURLWithPath: dir + "/pos.txt"))
        var message = ""
        do { _ = try DatasetFixture.importing(dir, name: "data/reviews", ["kind": .string("labelled")]) } catch { message = "\(error)" }
        #expect(message == "data/reviews/pos.txt:1: not valid UTF-8 (re-encode the file as UTF-8, or \(skip))")
        let (reader, stats) = try DatasetFixture.importing(dir, name: "data/reviews", DatasetFixture.params(["kind": .string("labelled"), "skip_invalid": .bool(true)]))
        #expect(stats.invalid == ["invalid_utf8": 1])
        #expect(try reader.records(in: "train").count == 2)
    }

    @Test func badParams() throws {
        #expect(throws: StageError.badParam("format", "'ranked' does not fit kind 'prompt-completion' (it takes auto, columns, alpaca, chat)")) {
            try DatasetFixture.settings(["format": .string("ranked")])
        }
        #expect(throws: StageError.badParam("extra_splits", "'judge' is not 'name:fraction' (e.g. 'judge:0.45')")) {
            try DatasetFixture.settings(["extra_splits": .list([.string("judge")])])
        }
        #expect(throws: StageError.badParam("valid_fraction", "extra, valid and test fractions must leave some data for train")) {
            try DatasetFixture.settings(["extra_splits": .list([.string("judge:0.9")])])
        }
        #expect(throws: StageError.badParam("margin_column", "only preference datasets have a margin")) {
            try DatasetFixture.settings(["margin_column": .string("m")])
        }
    }
}
