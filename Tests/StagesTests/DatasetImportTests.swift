import Foundation
import Hashing
import Models
import PipeTestSupport
import Testing
import Tokenizer
@testable import Stages

/// Imports small generated files of every supported shape and checks the records.
enum DatasetFixture {
    /// Writes `files` (name → text) into a fresh folder and returns it.
    static func folder(_ files: [String: String]) throws -> String {
        let dir = try DirectoryStageContext.temporaryDirectory("dataset-source")
        for (name, text) in files { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        return dir
    }

    static func settings(_ params: [String: StageParamValue]) throws -> DatasetSettings {
        try DatasetSettings(DirectoryStageContext.declaredParams(kind: "dataset", overrides: params))
    }

    /// Imports `source` (a file or folder), named `name` in messages; returns the reader and stats.
    static func importing(_ source: String, name: String, _ params: [String: StageParamValue]) throws -> (DatasetReader, DatasetStats) {
        let root = try DirectoryStageContext.temporaryDirectory("dataset-out")
        try FileManager.default.createDirectory(atPath: root + "/data", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/scratch", withIntermediateDirectories: true)
        let stats = try DatasetImport.run(source: source, sourceName: name, settings: try settings(params),
                                          output: root + "/data", scratch: root + "/scratch")
        return (try DatasetReader(directory: root + "/data"), stats)
    }

    /// Imports one file written with `text`.
    static func importing(file name: String, _ text: String, _ params: [String: StageParamValue]) throws -> (DatasetReader, DatasetStats) {
        let dir = try folder([(name as NSString).lastPathComponent: text])
        return try importing(dir + "/" + (name as NSString).lastPathComponent, name: name, params)
    }

    /// All records of every split, ordered by their JSON line (split assignment aside).
    static func allRecords(_ reader: DatasetReader) throws -> [DatasetRecord] {
        try reader.splits.flatMap { try reader.records(in: $0) }.sorted { $0.jsonLine < $1.jsonLine }
    }

    static let noHoldOut: [String: StageParamValue] = ["valid_fraction": .float(0), "test_fraction": .float(0)]

    static func params(_ extra: [String: StageParamValue]) -> [String: StageParamValue] {
        noHoldOut.merging(extra) { $1 }
    }
}

@Suite("dataset stage: shapes")
struct DatasetShapeTests {
    @Test func alpacaJSONArray() throws {
        let text = """
            [
              {"instruction": "Add the numbers.", "input": "2 3", "output": "5"},
              {"instruction": "Say  hi.\\r\\n", "output": "Hi!\\n\\nHow are you?  ", "category": "greeting", "id": 7}
            ]
            """
        let (reader, stats) = try DatasetFixture.importing(file: "data/alpaca.json", text, DatasetFixture.params([:]))
        #expect(reader.kind == .promptCompletion)
        #expect(stats.format == "alpaca")
        #expect(try DatasetFixture.allRecords(reader) == [
            .promptCompletion(PromptCompletionRecord(fields: ["instruction": .string("Add the numbers."), "input": .string("2 3")], completion: "5")),
            .promptCompletion(PromptCompletionRecord(fields: ["category": .string("greeting"), "id": .number(7), "input": .string(""),
                                                             "instruction": .string("Say  hi.")], completion: "Hi!\n\nHow are you?")),
        ])
        #expect(reader.manifest.fields == ["category", "id", "input", "instruction"])
        #expect(reader.manifest.sources.map(\.path) == ["alpaca.json"])
        #expect(reader.manifest.sources[0].digest == SHA256.hash(Array(text.utf8)).hex)
    }

    @Test func promptCompletionJSONL() throws {
        let text = #"{"prompt": "Q: 1+1?", "completion": "2"}"# + "\n\n" + #"{"prompt": "Q: 2+2?", "completion": "4"}"# + "\n"
        let (reader, stats) = try DatasetFixture.importing(file: "pc.jsonl", text, DatasetFixture.params([:]))
        #expect(stats.format == "columns")
        #expect(stats.rows == 2)
        #expect(try DatasetFixture.allRecords(reader) == [
            .promptCompletion(PromptCompletionRecord(fields: ["prompt": .string("Q: 1+1?")], completion: "2")),
            .promptCompletion(PromptCompletionRecord(fields: ["prompt": .string("Q: 2+2?")], completion: "4")),
        ])
    }

    /// TRL's standard rows put the space between prompt and answer at the answer's start; prompt +
    /// completion must stay "The sky is blue.", not "The sky isblue.".
    @Test func responsesKeepTheirLeadingSpaceAsTRLWritesThem() throws {
        let pc = #"{"prompt": "The sky is", "completion": " blue."}"# + "\n" + #"{"prompt": "Q:", "completion": "\n\nA: yes "}"# + "\n"
        let (reader, _) = try DatasetFixture.importing(file: "pc.jsonl", pc, DatasetFixture.params([:]))
        #expect(try DatasetFixture.allRecords(reader) == [
            .promptCompletion(PromptCompletionRecord(fields: ["prompt": .string("The sky is")], completion: " blue.")),
            .promptCompletion(PromptCompletionRecord(fields: ["prompt": .string("Q:")], completion: "\n\nA: yes")),
        ])
        let (collapsed, _) = try DatasetFixture.importing(file: "pc.jsonl", pc, DatasetFixture.params(["whitespace": .string("collapse")]))
        #expect(try DatasetFixture.allRecords(collapsed).map { if case .promptCompletion(let r) = $0 { r.completion } else { "" } } == [" A: yes", " blue."])
        let pref = #"{"prompt": "The sky is", "chosen": " blue.", "rejected": "\u3000green."}"#
        let (pairs, _) = try DatasetFixture.importing(file: "p.jsonl", pref, DatasetFixture.params(["kind": .string("preference")]))
        #expect(try DatasetFixture.allRecords(pairs) == [
            .preference(PreferenceRecord(fields: ["prompt": .string("The sky is")], chosen: " blue.", rejected: "\u{3000}green.")),
        ])
        // Whitespace alone is still an empty response, and an assistant turn's content is trimmed as before.
        #expect(throws: (any Error).self) {
            try DatasetFixture.importing(file: "e.jsonl", #"{"prompt": "p", "completion": "  "}"#, DatasetFixture.params([:]))
        }
        let chat = #"{"prompt": [{"role": "user", "content": "hi"}], "completion": [{"role": "assistant", "content": " hello"}]}"#
        let (turns, _) = try DatasetFixture.importing(file: "c.jsonl", chat, DatasetFixture.params([:]))
        #expect(try DatasetFixture.allRecords(turns).map { if case .promptCompletion(let r) = $0 { r.completion } else { "" } } == ["hello"])
    }

    /// `Dataset.to_csv` files are read as CSV (header, quoting, typed columns), never as text lines.
    @Test func tabularFilesAreReadAsTables() throws {
        let csv = "text,label\n\"good, \"\"quoted\"\"\nline\",1\n"
        for kind in ["text", "labelled"] {
            let (reader, stats) = try DatasetFixture.importing(file: "data/reviews.csv", csv, DatasetFixture.params(["kind": .string(kind)]))
            #expect(stats.rows == 1)
            let records = try DatasetFixture.allRecords(reader)
            switch records.first {
            case .text(let text)?: #expect(kind == "text" && text.hasPrefix("good, \"quoted\""))
            case .labelled(let record)?: #expect(kind == "labelled" && record.label == 1 && record.text.hasPrefix("good, \"quoted\""))
            default: Issue.record("\(kind): \(records)")
            }
        }
        #expect(throws: StageError.failed(#"data/reviews.csv row 1: field "prompt": missing (map another column with prompt_column, or set skip_invalid: true to skip such rows)"#)) {
            try DatasetFixture.importing(file: "data/reviews.csv", csv, DatasetFixture.params(["kind": .string("prompt-completion")]))
        }
        #expect(throws: StageError.self) { try DatasetFixture.importing(file: "t.parquet", "PAR1", DatasetFixture.params(["kind": .string("text")])) }
    }

    @Test func byteOrderMarksAndCRLFAreAccepted() throws {
        let row = #"{"prompt": "p", "completion": "c"}"#
        let (reader, _) = try DatasetFixture.importing(file: "bom.jsonl", "\u{FEFF}" + row + "\r\n" + row.replacingOccurrences(of: "p\"", with: "q\"") + "\r\n",
                                                       DatasetFixture.params([:]))
        #expect(try reader.records(in: "train").count == 2)
        let (array, _) = try DatasetFixture.importing(file: "bom.json", "\u{FEFF}[\r\n" + row + "\r\n]\r\n", DatasetFixture.params([:]))
        #expect(try array.records(in: "train").count == 1)
    }

    @Test func chatMessages() throws {
        let text = #"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}"#
        let (reader, stats) = try DatasetFixture.importing(file: "chat.jsonl", text, DatasetFixture.params([:]))
        #expect(stats.format == "chat")
        #expect(try DatasetFixture.allRecords(reader) == [
            .promptCompletion(PromptCompletionRecord(fields: [:], messages: [ChatMessage(role: "system", content: "Be brief."),
                                                                            ChatMessage(role: "user", content: "Hi")], completion: "Hello.")),
        ])
        #expect(try reader.records(in: "train").first?.jsonLine
            == #"{"completion":"Hello.","fields":{},"messages":[{"content":"Be brief.","role":"system"},{"content":"Hi","role":"user"}]}"#)
    }

    // TRL's conversational shapes: columns holding [{role, content}, ...] lists.
    static let user = #"{"role": "user", "content": "What color is the sky?"}"#
    static func assistant(_ text: String) -> String { #"{"role": "assistant", "content": "\#(text)"}"# }

    @Test func conversationalImplicitPreferenceSharesItsLeadingTurns() throws {
        let text = #"{"chosen": [\#(Self.user), \#(Self.assistant("Blue."))], "rejected": [\#(Self.user), \#(Self.assistant("Green."))], "score": 3}"#
        let (reader, stats) = try DatasetFixture.importing(file: "p.jsonl", text, DatasetFixture.params(["kind": .string("preference")]))
        #expect(stats.format == "implicit")
        #expect(try DatasetFixture.allRecords(reader) == [.preference(PreferenceRecord(
            fields: ["score": .number(3)], messages: [ChatMessage(role: "user", content: "What color is the sky?")], chosen: "Blue.", rejected: "Green."))])
        #expect(try reader.records(in: "train").first?.jsonLine
            == #"{"chosen":"Blue.","fields":{"score":3},"messages":[{"content":"What color is the sky?","role":"user"}],"rejected":"Green."}"#)
    }

    /// HF's ultrafeedback_binarized shape: a string prompt beside whole conversations. As TRL's
    /// maybe_extract_prompt, the shared turns are the prompt (format auto picks implicit); the string
    /// prompt column is dropped (the chat turns render the prompt under the default template).
    @Test func stringPromptBesideWholeConversationsIsAnImplicitPair() throws {
        let text = #"{"prompt": "What color is the sky?", "chosen": [\#(Self.user), \#(Self.assistant("Blue."))], "rejected": [\#(Self.user), \#(Self.assistant("Green."))], "score_chosen": 8.0}"#
        let (reader, stats) = try DatasetFixture.importing(file: "uf.jsonl", text, DatasetFixture.params(["kind": .string("preference")]))
        #expect(stats.format == "implicit")
        #expect(try DatasetFixture.allRecords(reader) == [.preference(PreferenceRecord(
            fields: ["score_chosen": .number(8)],
            messages: [ChatMessage(role: "user", content: "What color is the sky?")], chosen: "Blue.", rejected: "Green."))])
    }

    @Test func conversationalExplicitPreferencePromptCompletionAndPrompt() throws {
        let turns = [ChatMessage(role: "user", content: "What color is the sky?")]
        let pref = #"{"prompt": [\#(Self.user)], "chosen": [\#(Self.assistant("Blue."))], "rejected": [\#(Self.assistant("Green."))]}"#
        let (p, _) = try DatasetFixture.importing(file: "p.jsonl", pref, DatasetFixture.params(["kind": .string("preference")]))
        #expect(try DatasetFixture.allRecords(p) == [.preference(PreferenceRecord(fields: [:], messages: turns, chosen: "Blue.", rejected: "Green."))])
        let pc = #"{"prompt": [\#(Self.user)], "completion": [\#(Self.assistant("Blue."))]}"#
        let (c, _) = try DatasetFixture.importing(file: "c.jsonl", pc, DatasetFixture.params([:]))
        #expect(try DatasetFixture.allRecords(c) == [.promptCompletion(PromptCompletionRecord(fields: [:], messages: turns, completion: "Blue."))])
        let prompt = #"{"prompt": [\#(Self.user)], "answer": "blue"}"#
        let (q, _) = try DatasetFixture.importing(file: "q.jsonl", prompt, DatasetFixture.params(["kind": .string("prompt")]))
        #expect(try DatasetFixture.allRecords(q) == [.prompt(fields: ["answer": .string("blue")], messages: turns)])
        #expect(try q.records(in: "train").first?.jsonLine == #"{"fields":{"answer":"blue"},"messages":[{"content":"What color is the sky?","role":"user"}]}"#)
    }

    @Test func conversationalRowsWithTheWrongTurnsAreExactErrors() throws {
        let cases: [(String, String, String)] = [
            ("preference", #"{"chosen": [\#(Self.user), \#(Self.assistant("A")), \#(Self.user)], "rejected": [\#(Self.user), \#(Self.assistant("B"))]}"#,
             #"p.jsonl:1: field "chosen": after the 1 turn shared with the other response, expected one non-empty assistant turn, found 2 turns"#),
            ("preference", #"{"prompt": [\#(Self.user)], "chosen": [\#(Self.user), \#(Self.assistant("A"))], "rejected": "B"}"#,
             #"p.jsonl:1: field "chosen": expected one assistant turn, found 2 messages from "user", "assistant""#),
            ("prompt-completion", #"{"prompt": [\#(Self.user), \#(Self.assistant("A"))], "completion": "B"}"#,
             #"p.jsonl:1: field "prompt": the prompt ends with an assistant turn (the response belongs in its own column)"#),
            ("prompt", #"{"prompt": [{"role": "user"}]}"#,
             #"p.jsonl:1: field "prompt": message 0: expected {"role": string, "content": string or a list of text parts}"#),
        ]
        for (kind, row, message) in cases {
            do {
                _ = try DatasetFixture.importing(file: "p.jsonl", row, DatasetFixture.params(["kind": .string(kind)]))
                Issue.record("expected an error for \(row)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }

    @Test func chatRecordsRenderTheirTurnsUnderTheDefaultTemplate() throws {
        let tokenizer = PretrainedTokenizer(BPETrainer(vocabSize: 300, minFrequency: 1).train(["What color is the sky? Blue."]))
        let record = DatasetRecord.prompt(fields: ["answer": .string("blue")], messages: [ChatMessage(role: "user", content: "What color is the sky?")])
        let plain = TemplatedRecords(template: .plain, tokenizer: tokenizer)
        #expect(try plain.promptText(record) == "Human: What color is the sky?\nAssistant: ")
        let own = TemplatedRecords(template: try PromptTemplate("Q ({answer}): {messages}", roles: ["user": "U: ", "assistant": "A: "]), tokenizer: tokenizer)
        #expect(try own.promptText(record) == "Q (blue): U: What color is the sky?\nA: ")
    }

    @Test func explicitPreferenceWithMargin() throws {
        let text = #"{"prompt": "P", "chosen": "good", "rejected": "bad", "score": 1.5, "topic": "t"}"#
        let (reader, _) = try DatasetFixture.importing(file: "p.jsonl", text,
                                                       DatasetFixture.params(["kind": .string("preference"), "margin_column": .string("score")]))
        #expect(try DatasetFixture.allRecords(reader) == [
            .preference(PreferenceRecord(fields: ["prompt": .string("P"), "topic": .string("t")], chosen: "good", rejected: "bad", margin: 1.5)),
        ])
    }

    @Test func implicitPreferenceSplitsTheCommonPrefix() throws {
        let text = #"{"chosen": "Human: hi there Assistant: hello friend", "rejected": "Human: hi there Assistant: go away"}"#
        let (reader, stats) = try DatasetFixture.importing(file: "p.jsonl", text, DatasetFixture.params(["kind": .string("preference")]))
        #expect(stats.format == "implicit")
        // As TRL's extract_prompt: the prefix ends before the space that precedes the first difference.
        #expect(try DatasetFixture.allRecords(reader) == [
            .preference(PreferenceRecord(fields: ["prompt": .string("Human: hi there Assistant:")], chosen: " hello friend", rejected: " go away")),
        ])
        #expect(RowMapper.extractPrompt(chosen: "abc", rejected: "abd") == ("ab", "c", "d"))
    }

    @Test func chatGLMPairs() throws {
        let text = #"[{"instruction": "写一句评价", "input": "", "output": ["很好看", "很难看"]}]"#
        let (reader, stats) = try DatasetFixture.importing(file: "glm.json", text, DatasetFixture.params(["kind": .string("preference")]))
        #expect(stats.format == "chatglm")
        #expect(try DatasetFixture.allRecords(reader) == [
            .preference(PreferenceRecord(fields: ["input": .string(""), "instruction": .string("写一句评价")], chosen: "很好看", rejected: "很难看")),
        ])
    }

    @Test func rankedListsExpandToEveryOrderedPairInOneSplit() throws {
        var lines: [String] = []
        for p in 0..<40 { lines.append(#"{"prompt": "p\#(p)", "ranking": ["a\#(p)", "b\#(p)", "c\#(p)"]}"#) }
        let (reader, stats) = try DatasetFixture.importing(file: "ranked.jsonl", lines.joined(separator: "\n"),
            ["kind": .string("preference"), "format": .string("ranked"), "responses_column": .string("ranking"),
             "valid_fraction": .float(0.3), "test_fraction": .float(0.3)])
        #expect(stats.records == 120)
        #expect(stats.kept == 120)
        var splitOfPrompt: [String: Set<String>] = [:]
        var pairsOfPrompt: [String: [[String]]] = [:]
        for split in reader.splits {
            for record in try reader.records(in: split) {
                guard case .preference(let pair) = record, case .string(let prompt)? = pair.fields["prompt"] else { Issue.record("not a pair"); continue }
                splitOfPrompt[prompt, default: []].insert(split)
                pairsOfPrompt[prompt, default: []].append([pair.chosen, pair.rejected])
            }
        }
        #expect(splitOfPrompt.values.allSatisfy { $0.count == 1 })
        #expect(Set(splitOfPrompt.values.map { $0.first! }) == ["train", "valid", "test"])
        #expect(Set(pairsOfPrompt["p3"] ?? []) == [["a3", "b3"], ["a3", "c3"], ["b3", "c3"]])
    }

    @Test func promptSetKeepsEveryColumn() throws {
        let text = #"{"prompt": "2+2=", "answer": 4, "ok": true, "tags": ["math", "easy"], "meta": {"x": 1}}"#
        let (reader, _) = try DatasetFixture.importing(file: "prompts.jsonl", text, DatasetFixture.params(["kind": .string("prompt")]))
        #expect(try DatasetFixture.allRecords(reader) == [
            .prompt(fields: ["answer": .number(4), "ok": .bool(true), "prompt": .string("2+2="), "tags": .strings(["math", "easy"])]),
        ])
    }

    @Test func plainTextFromJSONLAndTextFiles() throws {
        let dir = try DatasetFixture.folder(["a.jsonl": #"{"content": "第一行"}"# + "\n", "b.txt": "第二行\n\n第三  行\n", "notes.md": "x"])
        let (reader, stats) = try DatasetFixture.importing(dir, name: "corpus",
                                                           DatasetFixture.params(["kind": .string("text"), "text_column": .string("content")]))
        #expect(try DatasetFixture.allRecords(reader) == [.text("第一行"), .text("第三 行"), .text("第二行")])
        #expect(stats.filtered["empty"] == 1)
        #expect(reader.manifest.sources.map(\.path) == ["a.jsonl", "b.txt"])
    }

    @Test func labelledDropsCopiesConflictsAndShortReviews() throws {
        let source = try ReviewCorpus.writeSource(count: 300, extraPositive: ["重复的好评很好", "重复的好评很好", "  重复的好评很好 ", "两边都有", "", "短"],
                                                  extraNegative: ["两边都有", "bad\u{FF}"])
        let (reader, stats) = try DatasetFixture.importing(source, name: "data/reviews", [
            "kind": .string("labelled"), "extra_splits": .list([.string("judge:0.25")]), "min_chars": .int(4), "max_chars": .int(1000)])
        var all: [LabelledRecord] = []
        var sizes: [String: Int] = [:]
        for split in LabelledRecordFile.splits {
            // tokenise and judge read the labelled splits as LabelledRecordFile.
            let records = try LabelledRecordFile.read(split: split, in: reader.directory)
            #expect(try reader.records(in: split) == records.map { DatasetRecord.labelled($0) }, "split \(split)")
            sizes[split] = records.count
            all += records
        }
        let texts = all.map(\.text)
        #expect(Set(texts).count == texts.count)                       // no duplicates across or within splits
        #expect(texts.filter { $0 == "重复的好评很好" }.count == 1)
        #expect(!texts.contains("两边都有"))                             // conflicting labels dropped
        #expect(!texts.contains("短") && !texts.contains(""))
        #expect(texts.contains("badÿ"))                                 // U+00FF is valid UTF-8: a normal review
        #expect(sizes["train"]! > sizes["judge"]! && sizes["judge"]! > sizes["valid"]!)
        #expect(all.contains { $0.label == 1 } && all.contains { $0.label == 0 })
        #expect(stats.conflictingLabels == 2)
        #expect(stats.filtered["too_short"] == 1)
        #expect(stats.filtered["empty"] == 1)
    }

    @Test func labelledFromJSONWithBooleanLabels() throws {
        let text = #"{"sentence": "great", "positive": true}"# + "\n" + #"{"sentence": "awful", "positive": 0}"#
        let (reader, _) = try DatasetFixture.importing(file: "l.jsonl", text, DatasetFixture.params([
            "kind": .string("labelled"), "text_column": .string("sentence"), "label_column": .string("positive")]))
        #expect(try DatasetFixture.allRecords(reader) == [.labelled(LabelledRecord(text: "awful", label: 0)),
                                                          .labelled(LabelledRecord(text: "great", label: 1))])
    }
}

@Suite("dataset stage: the built-in")
struct DatasetStageRunTests {
    @Test func runsThroughAStageContextAndLogsItsCounts() throws {
        let source = try DatasetFixture.folder(["a.jsonl": (0..<20).map { #"{"prompt": "p\#($0)", "completion": "c\#($0)"}"# }.joined(separator: "\n")])
        let root = try DirectoryStageContext.temporaryDirectory("dataset-stage")
        let context = try DirectoryStageContext(kind: "dataset", params: ["test_fraction": .float(0.2)], inputs: ["source": source],
                                                outputs: ["data"], root: root)
        try DatasetStage.run(context)
        let reader = try DatasetReader(directory: try context.outputPath("data"))
        #expect(reader.manifest.splits.map(\.count).reduce(0, +) == 20)
        #expect(reader.splits == ["test", "train", "valid"])
        #expect(context.logLines.contains { $0.hasPrefix("dataset: prompt-completion (columns): 20 rows → 20 records → 20 kept (") })
    }
}

@Suite("dataset stage: splits, order, duplicates, stats")
struct DatasetSplitTests {
    static func alpacaRows(_ range: Range<Int>) -> [String] {
        range.map { #"{"instruction": "Task \#($0)", "input": "", "output": "Answer \#($0)"}"# }
    }

    @Test func addingRowsNeverMovesExistingRows() throws {
        let params = ["valid_fraction": StageParamValue.float(0.2), "test_fraction": .float(0.2),
                      "extra_splits": .list([.string("judge:0.2")])]
        let (small, _) = try DatasetFixture.importing(file: "a.jsonl", Self.alpacaRows(0..<200).joined(separator: "\n"), params)
        let (large, _) = try DatasetFixture.importing(file: "a.jsonl", Self.alpacaRows(0..<400).joined(separator: "\n"), params)
        for split in ["train", "valid", "test", "judge"] {
            let before = try small.records(in: split).map(\.jsonLine)
            let after = try large.records(in: split).map(\.jsonLine)
            #expect(!before.isEmpty)
            #expect(Set(before).isSubset(of: Set(after)), "split \(split)")
            // Order by content hash: the old records keep their relative order.
            #expect(after.filter { Set(before).contains($0) } == before)
        }
        #expect(small.splits == ["judge", "test", "train", "valid"])
    }

    @Test func duplicatesAfterNormalisationAreRemovedAndStatsCounted() throws {
        let rows = Self.alpacaRows(0..<30) + [#"{"instruction": "Task 3", "input": "", "output": "Answer 3  "}"#,
                                              #"{"instruction": "Task\u00a03", "input": "", "output": "Answer 3"}"#,
                                              #"{"instruction": "Short", "output": "x"}"#]
        let (reader, stats) = try DatasetFixture.importing(file: "a.jsonl", rows.joined(separator: "\n"),
                                                           DatasetFixture.params(["min_chars": .int(3)]))
        #expect(stats.rows == 33)
        #expect(stats.records == 33)
        #expect(stats.duplicates == 1)      // "Answer 3  " trims to a copy; U+00A0 is kept under whitespace: keep
        #expect(stats.filtered["too_short"] == 1)
        #expect(stats.kept == 31)
        #expect(try reader.records(in: "train").count == 31)
        let statsText = try String(contentsOfFile: reader.directory + "/stats.json", encoding: .utf8)
        #expect(statsText == #"{"conflicting_labels":0,"duplicates":1,"filtered":{"empty":0,"too_long":0,"too_short":1},"format":"alpaca","invalid":{},"kept":31,"lengths":{"completion":{"max":9,"mean":8.65,"min":8}},"records":33,"rows":33,"splits":{"test":0,"train":31,"valid":0}}"# + "\n")
    }

    @Test func outputIsDeterministicAndIndependentOfFileOrderWithinRows() throws {
        let rows = Self.alpacaRows(0..<100)
        let (a, _) = try DatasetFixture.importing(file: "a.jsonl", rows.joined(separator: "\n"), [:])
        let (b, _) = try DatasetFixture.importing(file: "a.jsonl", rows.reversed().joined(separator: "\n"), [:])
        for split in a.splits {
            #expect(try Data(contentsOf: URL(fileURLWithPath: a.directory + "/\(split).jsonl"))
                == Data(contentsOf: URL(fileURLWithPath: b.directory + "/\(split).jsonl")))
        }
    }

    @Test func streamingThroughManyBucketsGivesTheSameBytes() throws {
        // Above 8 MiB of source the import spills to several buckets; the result must not change.
        let rows = Self.alpacaRows(0..<300) + Self.alpacaRows(0..<10)
        let root = try DirectoryStageContext.temporaryDirectory("buckets")
        let settings = try DatasetFixture.settings([:])
        let one = SplitBuckets(directory: root, splits: settings.splitNames, sourceBytes: 0)
        try FileManager.default.createDirectory(atPath: root + "/many", withIntermediateDirectories: true)
        let many = SplitBuckets(directory: root + "/many", splits: settings.splitNames, sourceBytes: 100 << 20)
        for line in rows {
            for buckets in [one, many] { try buckets.add(split: "train", orderKey: Array(line.utf8), lengths: [1], line: Array(line.utf8)) }
        }
        _ = try one.finish(split: "train", to: root + "/one.jsonl", fieldCount: 1)
        _ = try many.finish(split: "train", to: root + "/many.jsonl", fieldCount: 1)
        let oneBytes = try Data(contentsOf: URL(fileURLWithPath: root + "/one.jsonl"))
        #expect(oneBytes == (try Data(contentsOf: URL(fileURLWithPath: root + "/many.jsonl"))))
        #expect(oneBytes.split(separator: 0x0A).count == 300)
        #expect(FileManager.default.subpaths(atPath: root + "/many")?.isEmpty == true)
    }

    /// Rows are parsed, mapped and hashed on the pool in fixed batches and added in row order: the
    /// same files at any thread count, and the same first bad row in the error.
    @Test func importGivesTheSameBytesForAnyThreadCount() throws {
        // More rows than one batch, with duplicates and rows that normalise differently.
        let rows = Self.alpacaRows(0..<2300) + Self.alpacaRows(0..<40) + ["{\"instruction\": \"  spaced\\t out \", \"output\": \"x\\n\\n y \"}"]
        let dir = try DatasetFixture.folder(["rows.jsonl": rows.joined(separator: "\n") + "\n"])
        var outputs: [[String: Data]] = []
        for threads in [1, 2, 3] {
            let root = try DirectoryStageContext.temporaryDirectory("dataset-threads")
            for sub in ["data", "scratch"] { try FileManager.default.createDirectory(atPath: root + "/" + sub, withIntermediateDirectories: true) }
            let stats = try DatasetImport.run(source: dir + "/rows.jsonl", sourceName: "rows.jsonl", settings: try DatasetFixture.settings([:]),
                                              output: root + "/data", scratch: root + "/scratch", pool: WorkerPool(threads: threads))
            #expect(stats.rows == 2341 && stats.duplicates == 40)
            var files: [String: Data] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: root + "/data") {
                files[name] = try Data(contentsOf: URL(fileURLWithPath: root + "/data/" + name))
            }
            outputs.append(files)
        }
        #expect(outputs[0].count >= 5)
        #expect(outputs[1] == outputs[0] && outputs[2] == outputs[0])

        // A bad row in the second batch (and a later one): the error names the first, at any thread count.
        let bad = Self.alpacaRows(0..<2100) + ["{\"instruction\": 7, \"output\": \"x\"}"] + Self.alpacaRows(0..<5) + ["not json"]
        let badDir = try DatasetFixture.folder(["bad.jsonl": bad.joined(separator: "\n") + "\n"])
        var messages: [String] = []
        for threads in [1, 2] {
            let root = try DirectoryStageContext.temporaryDirectory("dataset-threads-bad")
            for sub in ["data", "scratch"] { try FileManager.default.createDirectory(atPath: root + "/" + sub, withIntermediateDirectories: true) }
            do {
                _ = try DatasetImport.run(source: badDir + "/bad.jsonl", sourceName: "bad.jsonl", settings: try DatasetFixture.settings([:]),
                                          output: root + "/data", scratch: root + "/scratch", pool: WorkerPool(threads: threads))
                Issue.record("a bad row was accepted")
            } catch {
                messages.append("\(error)")
            }
        }
        #expect(messages.count == 2 && messages[0] == messages[1])
        #expect(messages.first?.contains("bad.jsonl:2101") == true, "\(messages)")
    }
}
