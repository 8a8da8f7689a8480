import Foundation
import JSONQuoting

/// One labelled review: the unit a labelled dataset holds and the tokenise and judge stages read.
public struct LabelledRecord: Sendable, Equatable {
    public var text: String
    /// 1 = positive, 0 = negative.
    public var label: Int

    public init(text: String, label: Int) {
        self.text = text
        self.label = label
    }
}

/// JSON-lines files of labelled records: `{"text":"…","label":1}` per line, UTF-8, `\n`-terminated.
public enum LabelledRecordFile {
    /// The four splits of a labelled dataset with a judge split, as `<split>.jsonl` in its `data` output.
    public static let splits = ["train", "valid", "test", "judge"]

    public static func write(_ records: [LabelledRecord], to path: String) throws {
        var text = ""
        for r in records { text += JSONText.object([("text", JSONText.quoted(r.text)), ("label", String(r.label))]) + "\n" }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Reads a JSONL file, naming the file and line of any malformed record.
    public static func read(_ path: String) throws -> [LabelledRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StageError.failed("\(path): cannot read (is the input a labelled dataset's `data` output?)")
        }
        var records: [LabelledRecord] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            let object: JSONValue
            do { object = try JSONParser.parseFile(Array(line)) } catch {
                throw StageError.failed("\(path):\(lineNumber): not valid JSON at column \(error.column): \(error.message)")
            }
            guard object.members != nil, let textValue = object["text"], let labelValue = object["label"] else {
                throw StageError.failed("\(path):\(lineNumber): expected {\"text\": string, \"label\": 0 or 1}")
            }
            guard let text = textValue.string else {
                throw StageError.failed("\(path):\(lineNumber): field \"text\" must be a string, got \(textValue.quotedForMessage)")
            }
            guard let label = labelValue.integer, label == 0 || label == 1 else {
                throw StageError.failed("\(path):\(lineNumber): field \"label\" must be 0 or 1, got \(labelValue.quotedForMessage)")
            }
            records.append(LabelledRecord(text: text, label: label))
        }
        return records
    }

    /// The records of one split in a labelled dataset's `data` directory.
    public static func read(split: String, in directory: String) throws -> [LabelledRecord] {
        try read(directory + "/" + split + ".jsonl")
    }
}
