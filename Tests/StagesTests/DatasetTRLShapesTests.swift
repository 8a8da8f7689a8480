import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// Datasets as TRL users save them with `datasets` (`to_json`, `to_json(lines=False)`, `save_to_disk`,
/// `to_parquet`, `to_csv`): each imports, or stops with the file, the line, the field and the fix —
/// never a silently partial or wrongly mapped dataset.
@Suite("dataset stage: TRL dataset types and files as users save them")
struct DatasetTRLShapesTests {
    private static let skip = "set skip_invalid: true to skip such rows"

    static func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "" } catch { return "\(error)" }
    }

    static func folder(_ files: [String: [UInt8]], directories: [String] = []) throws -> String {
        let dir = try DirectoryStageContext.temporaryDirectory("dataset-trl")
        for name in directories { try FileManager.default.createDirectory(atPath: dir + "/" + name, withIntermediateDirectories: true) }
        for (name, bytes) in files { try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name)) }
        return dir
    }

    /// `to_json` writes compact rows with `\/` and `\uXXXX` escapes; `lines=False`, one array.
    @Test func conversationalPreferenceAsToJSONWritesIt() throws {
        let row1 = #"{"prompt":[{"role":"user","content":"Caf\u00e9 or tea?"}],"chosen":[{"role":"assistant","content":"Tea \/ milk."}],"rejected":[{"role":"assistant","content":"Caf\u00e9."}]}"#
        let row2 = #"{"prompt":[{"role":"system","content":"Be terse."},{"role":"user","content":"Sky?"}],"chosen":[{"role":"assistant","content":"Blue."}],"rejected":[{"role":"assistant","content":"Green."}]}"#
        let expected: [DatasetRecord] = [
            .preference(PreferenceRecord(fields: [:], messages: [ChatMessage(role: "system", content: "Be terse."), ChatMessage(role: "user", content: "Sky?")],
                                         chosen: "Blue.", rejected: "Green.")),
            .preference(PreferenceRecord(fields: [:], messages: [ChatMessage(role: "user", content: "Café or tea?")], chosen: "Tea / milk.", rejected: "Café.")),
        ]
        for (file, text) in [("data/p.jsonl", row1 + "\n" + row2 + "\n"), ("data/p.json", "[" + row1 + "," + row2 + "]\n")] {
            let (reader, _) = try DatasetFixture.importing(file: file, text, DatasetFixture.params(["kind": .string("preference")]))
            #expect(Set(try DatasetFixture.allRecords(reader).map(\.jsonLine)) == Set(expected.map(\.jsonLine)), "\(file)")
        }
    }

    /// A CSV file beside JSON ones holds rows too: it is read, not skipped.
    @Test func tabularFilesInAFolderAreRead() throws {
        let dir = try Self.folder(["a.jsonl": Array(#"{"text": "one"}"#.utf8), "b.csv": Array("text\ntwo\n".utf8), "notes.md": Array("# x\n".utf8)])
        let (reader, stats) = try DatasetFixture.importing(dir, name: "data/mixed", DatasetFixture.params(["kind": .string("text")]))
        #expect(stats.rows == 2)
        #expect(try DatasetFixture.allRecords(reader) == [.text("one"), .text("two")])
        #expect(reader.manifest.sources.map(\.path) == ["a.jsonl", "b.csv"])
    }

    /// TRL's unpaired preference rows (KTO): not a pair, and their label-false completions must not be
    /// learnt by SFT.
    @Test func unpairedPreferenceRows() throws {
        let text = #"{"prompt":"The sky is","completion":" blue.","label":true}"# + "\n" + #"{"prompt":"The sky is","completion":" green.","label":false}"# + "\n"
        #expect(Self.message { try DatasetFixture.importing(file: "data/kto.jsonl", text, DatasetFixture.params(["kind": .string("preference")])) }
            == #"data/kto.jsonl:1: field "chosen": missing; the row is an unpaired preference (prompt, completion, label: TRL's KTO format), not a pair of responses to one prompt (pair a desired and an undesired completion of the same prompt into chosen and rejected, or import the label-true rows as kind: prompt-completion, or \#(Self.skip))"#)
        #expect(Self.message { try DatasetFixture.importing(file: "data/kto.jsonl", text, DatasetFixture.params([:])) }
            == #"data/kto.jsonl:2: field "label": false, the completion is an undesired one (TRL's unpaired preference format); supervised fine-tuning would learn it (keep only the label-true rows, or \#(Self.skip))"#)
        let (reader, stats) = try DatasetFixture.importing(file: "data/kto.jsonl", text, DatasetFixture.params(["skip_invalid": .bool(true)]))
        #expect(stats.invalid == ["undesired_completion": 1])
        #expect(try DatasetFixture.allRecords(reader) == [
            .promptCompletion(PromptCompletionRecord(fields: ["label": .bool(true), "prompt": .string("The sky is")], completion: " blue."))])
    }

    @Test func stepwiseSupervisionAndConversationalTextAreNamed() throws {
        let stepwise = #"{"prompt":"9.8 or 9.11?","completions":["0.8 > 0.11.","So 9.11."],"labels":[true,false]}"# + "\n"
        #expect(Self.message { try DatasetFixture.importing(file: "data/prm.jsonl", stepwise, DatasetFixture.params([:])) }
            == #"data/prm.jsonl:1: field "completion": missing; the row is stepwise supervision (prompt, completions, labels: TRL's PRM format), which no dataset kind takes (turn the steps into prompt-completion or preference rows, or \#(Self.skip))"#)
        let chat = #"{"messages":[{"role":"user","content":"Sky?"},{"role":"assistant","content":"Blue."}]}"# + "\n"
        #expect(Self.message { try DatasetFixture.importing(file: "data/lm.jsonl", chat, DatasetFixture.params(["kind": .string("text")])) }
            == #"data/lm.jsonl:1: field "text": missing; the row is a conversation ("messages") (import conversations with kind: prompt-completion (the last assistant turn is the completion), or \#(Self.skip))"#)
    }

    /// LLaMA-Factory's alpaca rows with `history`: refused, not imported without their earlier turns.
    @Test func alpacaHistoryIsNotDroppedSilently() throws {
        let text = #"{"instruction":"And now?","input":"","output":"Green.","history":[["Sky colour?","Blue."]]}"# + "\n"
            + #"{"instruction":"Hi","input":"","output":"Hello.","history":[]}"# + "\n"
        #expect(Self.message { try DatasetFixture.importing(file: "data/a.jsonl", text, DatasetFixture.params([:])) }
            == #"data/a.jsonl:1: field "history": 1 earlier turn, which format alpaca has no place for (they would be dropped) (write such rows as chat messages ({"messages": [{role, content}, ...]}) for kind prompt-completion, or \#(Self.skip))"#)
        let (reader, _) = try DatasetFixture.importing(file: "data/a.jsonl", text, DatasetFixture.params(["skip_invalid": .bool(true)]))
        #expect(try DatasetFixture.allRecords(reader).count == 1, "an empty history is no history")
    }

    /// Message content as a list of parts (chat templates' and multimodal datasets' form): text parts are
    /// joined; an image or a tool call is refused by name, never read as an empty turn.
    @Test func contentPartsAndToolCalls() throws {
        let parts = #"{"messages":[{"role":"user","content":[{"type":"text","text":"Sky "},{"type":"text","text":"colour?"}]},{"role":"assistant","content":[{"type":"text","text":"Blue."}]}]}"# + "\n"
        let (reader, _) = try DatasetFixture.importing(file: "data/c.jsonl", parts, DatasetFixture.params([:]))
        #expect(try DatasetFixture.allRecords(reader) == [
            .promptCompletion(PromptCompletionRecord(fields: [:], messages: [ChatMessage(role: "user", content: "Sky colour?")], completion: "Blue."))])
        let image = #"{"prompt":[{"role":"user","content":[{"type":"image"},{"type":"text","text":"What is it?"}]}],"completion":[{"role":"assistant","content":"A cat."}]}"# + "\n"
        #expect(Self.message { try DatasetFixture.importing(file: "data/v.jsonl", image, DatasetFixture.params([:])) }
            == #"data/v.jsonl:1: field "prompt": message 0: content part 0 is a "image" part; only text is read (set skip_invalid: true to skip such rows)"#)
        let tool = #"{"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"weather","arguments":{}}}]},{"role":"tool","content":"Sun."},{"role":"assistant","content":"Sunny."}]}"# + "\n"
        #expect(Self.message { try DatasetFixture.importing(file: "data/t.jsonl", tool, DatasetFixture.params([:])) }
            == #"data/t.jsonl:1: field "messages": message 1: a tool call ("tool_calls" without content); tool calls are not read (set skip_invalid: true to skip such rows)"#)
    }

    @Test func utf16AndEmptySourcesAreFileLevelErrors() throws {
        let utf16 = try Self.folder(["u.jsonl": [0xFF, 0xFE] + Array(#"{"text": "x"}"#.utf8).flatMap { [$0, 0] }])
        #expect(Self.message { try DatasetFixture.importing(utf16 + "/u.jsonl", name: "data/u.jsonl", DatasetFixture.params(["kind": .string("text")])) }
            == "data/u.jsonl: UTF-16 text (it starts with the byte-order mark FF FE); datasets are read as UTF-8: re-encode it, e.g. iconv -f UTF-16 -t UTF-8")
        for (file, text) in [("data/e.jsonl", ""), ("data/e.jsonl", "\n  \n"), ("data/e.json", "[]\n")] {
            #expect(Self.message { try DatasetFixture.importing(file: file, text, DatasetFixture.params([:])) }
                == "input 'source': \(file): no rows (the file is empty)", "\(file) \(text.debugDescription)")
        }
        let empty = try Self.folder(["a.jsonl": [], "b.json": Array("[]".utf8)])
        #expect(Self.message { try DatasetFixture.importing(empty, name: "data/none", DatasetFixture.params([:])) }
            == "input 'source': data/none: no rows in its 2 files (all empty)")
    }
}
