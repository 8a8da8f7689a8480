import Foundation
import XCTest
@testable import Stages

final class PromptTemplateTests: XCTestCase {
    func testFieldsAndLiteralBraces() throws {
        let t = try PromptTemplate("Human: {prompt}\nAssistant: {{ok}}")
        XCTAssertEqual(try t.render(fields: ["prompt": "你好"]), "Human: 你好\nAssistant: {ok}")
        XCTAssertEqual(t.fieldNames, ["prompt"])
    }

    func testAlpacaOptionalInputSection() throws {
        let t = try PromptTemplate("{instruction}{#input}\n{input}{/input}\n")
        XCTAssertEqual(try t.render(fields: ["instruction": "Sum", "input": "1 2"]), "Sum\n1 2\n")
        XCTAssertEqual(try t.render(fields: ["instruction": "Sum", "input": ""]), "Sum\n")
        XCTAssertEqual(try t.render(fields: ["instruction": "Sum"]), "Sum\n")
        XCTAssertEqual(t.fieldNames, ["input", "instruction"])
    }

    func testChatMessagesEndWithTheAssistantMarker() throws {
        let t = try PromptTemplate("{messages}", roles: ["user": "U: ", "assistant": "A: "], separator: "\n")
        let turns = [ChatMessage(role: "user", content: "hi"), ChatMessage(role: "assistant", content: "hello"),
                     ChatMessage(role: "user", content: "bye?")]
        XCTAssertEqual(try t.render(fields: [:], messages: turns), "U: hi\nA: hello\nU: bye?\nA: ")
        XCTAssertThrowsError(try t.render(fields: [:], messages: [ChatMessage(role: "tool", content: "x")])) {
            XCTAssertEqual("\($0)", "template: chat role `tool` has no marker (known: assistant, user); add it to chat_roles")
        }
    }

    func testMissingFieldNamesTheFieldAndTheRecordsFields() {
        let t = try! PromptTemplate("{question}")
        XCTAssertThrowsError(try t.render(fields: ["prompt": "x", "answer": "y"])) {
            XCTAssertEqual("\($0)", "template: the record has no field `question` (its fields: answer, prompt); map a column to it in the dataset stage or change the template")
        }
    }

    func testMalformedTemplatesAreRejectedWithThePosition() {
        let cases: [(String, String)] = [
            ("a {prompt", "template: `{` at character 3 is never closed (write `{{` for a literal brace)"),
            ("a } b", "template: a lone `}` at character 3 (write `}}` for a literal brace)"),
            ("{#input}x", "template: `{#input}` is never closed with `{/input}`"),
            ("x{/input}", "template: `{/input}` at character 2 closes no open `{#input}`"),
            ("{a b}", "template: `{a b}` at character 1 is not a field name (letters, digits, _ - .)"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try PromptTemplate(text), text) { XCTAssertEqual("\($0)", message, text) }
        }
        XCTAssertThrowsError(try PromptTemplate("{messages}", roles: ["user": "U: "])) {
            XCTAssertEqual("\($0)", "template: chat templates need an `assistant` role marker (the generation prompt)")
        }
    }

    func testTheTemplateTravelsWithTheModelFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("template-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertNil(try TemplateFile.load(from: dir))
        let t = try PromptTemplate("Q: {prompt}\n{messages}", roles: ["user": "U: ", "assistant": "A: "], separator: "|")
        try TemplateFile.save(t, to: dir)
        XCTAssertEqual(try TemplateFile.load(from: dir), t)
        XCTAssertEqual(try String(contentsOfFile: dir + "/prompt_template.json", encoding: .utf8),
                       "{\"roles\":{\"assistant\":\"A: \",\"user\":\"U: \"},\"separator\":\"|\",\"template\":\"Q: {prompt}\\n{messages}\"}\n")

        // An empty `template` param takes the stored one; a set one wins.
        var params = StageParams(["template": .string(""), "chat_roles": .list([.string("user=H: "), .string("assistant=B: ")]),
                                  "chat_separator": .string("\n")])
        XCTAssertEqual(try TemplateFile.resolve(params, storedWith: dir), t)
        XCTAssertEqual(try TemplateFile.resolve(params, storedWith: nil).text, "{prompt}")
        params.values["template"] = .string("{messages}")
        let own = try TemplateFile.resolve(params, storedWith: dir)
        XCTAssertEqual(own.roles, ["user": "H: ", "assistant": "B: "])
        params.values["chat_roles"] = .list([.string("nomarker")])
        XCTAssertThrowsError(try TemplateFile.resolve(params, storedWith: nil)) {
            XCTAssertEqual("\($0)", "param 'chat_roles': `nomarker` is not role=marker (e.g. \"user=Human: \")")
        }
    }
}
