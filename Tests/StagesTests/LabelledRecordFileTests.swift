import Foundation
import Testing
@testable import Stages

/// Labelled JSON-lines files: round trip, and each bad line named by file, line and column or field.
@Suite("labelled record files")
struct LabelledRecordFileTests {
    static func failure(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "labelled-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        do { _ = try LabelledRecordFile.read(path); return "accepted" } catch {
            return "\(error)".replacingOccurrences(of: path, with: "FILE")
        }
    }

    @Test func roundTripAndIntegerValuedFloats() throws {
        let path = NSTemporaryDirectory() + "labelled-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let records = [LabelledRecord(text: "great \"film\"\n\u{FEFF}好", label: 1), LabelledRecord(text: "", label: 0)]
        try LabelledRecordFile.write(records, to: path)
        #expect(try LabelledRecordFile.read(path) == records)
        try Data("{\"text\": \"a\", \"label\": 1.0}\n{\"label\": 0e3, \"text\": \"b\"}\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try LabelledRecordFile.read(path) == [LabelledRecord(text: "a", label: 1), LabelledRecord(text: "b", label: 0)])
    }

    @Test func badLinesAreNamed() throws {
        #expect(try Self.failure("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\" \"label\": 0}\n")
                == "FILE:2: not valid JSON at column 14: expected ',' or '}' in an object, found '\"'")
        #expect(try Self.failure("{\"text\": \"a\", \"label\": true}\n") == "FILE:1: field \"label\" must be 0 or 1, got true")
        #expect(try Self.failure("{\"text\": \"a\", \"label\": 2}\n") == "FILE:1: field \"label\" must be 0 or 1, got 2")
        #expect(try Self.failure("{\"text\": 5, \"label\": 1}\n") == "FILE:1: field \"text\" must be a string, got 5")
        #expect(try Self.failure("{\"text\": \"a\"}\n") == "FILE:1: expected {\"text\": string, \"label\": 0 or 1}")
        #expect(try Self.failure("{\"text\": \"a\", \"text\": \"b\", \"label\": 1}\n") == "FILE:1: not valid JSON at column 15: duplicate key \"text\"")
    }
}
