import JSONQuoting
import Foundation

/// Reads a dataset artifact (the `data` output of a `dataset` stage): its `dataset.json` and the
/// records of each split, streamed line by line from `<split>.jsonl`.
public struct DatasetReader: Sendable {
    public let directory: String
    public let manifest: DatasetManifest

    /// Opens a dataset directory and reads its `dataset.json`.
    public init(directory: String) throws {
        self.directory = directory
        let path = directory + "/" + DatasetManifest.fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StageError.failed("\(path): cannot read (is the input a dataset stage's `data` output?)")
        }
        manifest = try DatasetManifest.parse(Array(data), file: path)
    }

    public var kind: DatasetKind { manifest.kind }

    /// Split names, sorted.
    public var splits: [String] { manifest.splits.map(\.name) }

    /// Throws unless the dataset is of one of `kinds` (`input` names the consuming stage's input).
    public func require(_ kinds: [DatasetKind], input: String) throws {
        guard kinds.contains(kind) else {
            throw StageError.badInput(input, "dataset kind '\(kind.rawValue)' cannot be used here (expected "
                + kinds.map { "'\($0.rawValue)'" }.joined(separator: " or ") + "; set `kind:` on the dataset stage)")
        }
    }

    /// Calls `body` with each record of a split, in file order (memory: one line at a time).
    public func forEachRecord(in split: String, _ body: (DatasetRecord) throws -> Void) throws {
        guard manifest.count(of: split) != nil else {
            throw StageError.failed("\(directory): the dataset has no split '\(split)' (it has "
                + splits.map { "'\($0)'" }.joined(separator: ", ") + ")")
        }
        let path = directory + "/" + split + ".jsonl"
        let reader = try LineReader(path: path)
        let kind = manifest.kind
        while let record = try reader.nextLine({ line -> DatasetRecord? in
            if line.isEmpty { return nil }
            return try Self.decode(line, kind: kind, at: "\(path):\(reader.lineNumber)")
        }) {
            if let record { try body(record) }
        }
    }

    /// Every record of a split.
    public func records(in split: String) throws -> [DatasetRecord] {
        var records: [DatasetRecord] = []
        try forEachRecord(in: split) { records.append($0) }
        return records
    }

    /// Decodes one record line of a dataset of `kind`; `place` (`file:line`) names it in errors.
    public static func decode(_ line: UnsafeBufferPointer<UInt8>, kind: DatasetKind, at place: String) throws -> DatasetRecord {
        let value: JSONValue
        do { value = try JSONParser.parse(line) } catch { throw StageError.failed("\(place): malformed JSON: \(error.message)") }
        func string(_ key: String) throws -> String {
            guard case .string(let s)? = value[key] else { throw StageError.failed("\(place): expected a string \"\(key)\"") }
            return s
        }
        func messages() throws -> [ChatMessage]? {
            guard let raw = value["messages"] else { return nil }
            guard case .array(let items) = raw else { throw StageError.failed("\(place): expected an array \"messages\"") }
            return try items.map { item in
                guard case .string(let role)? = item["role"], case .string(let content)? = item["content"] else {
                    throw StageError.failed("\(place): each message needs \"role\" and \"content\" strings")
                }
                return ChatMessage(role: role, content: content)
            }
        }
        func fields() throws -> [String: FieldValue] {
            guard case .object(let members)? = value["fields"] else { throw StageError.failed("\(place): expected an object \"fields\"") }
            var result: [String: FieldValue] = [:]
            for member in members {
                guard let field = FieldValue(member.value) else {
                    throw StageError.failed("\(place): field \"\(member.key)\": expected a string, number, boolean or list of strings")
                }
                result[member.key] = field
            }
            return result
        }
        switch kind {
        case .text:
            return .text(try string("text"))
        case .labelled:
            guard case .number(let label)? = value["label"], label == 0 || label == 1 else {
                throw StageError.failed("\(place): expected \"label\" 0 or 1")
            }
            return .labelled(LabelledRecord(text: try string("text"), label: Int(label)))
        case .promptCompletion:
            return .promptCompletion(PromptCompletionRecord(fields: try fields(), messages: try messages(), completion: try string("completion")))
        case .preference:
            var margin: Double?
            if let raw = value["margin"] {
                guard case .number(let x) = raw else { throw StageError.failed("\(place): expected a number \"margin\"") }
                margin = x
            }
            return .preference(PreferenceRecord(fields: try fields(), messages: try messages(), chosen: try string("chosen"),
                                              rejected: try string("rejected"), margin: margin))
        case .prompt:
            return .prompt(fields: try fields(), messages: try messages())
        }
    }
}

extension FieldValue {
    /// A JSON value as a field (nil for null, objects and lists holding non-strings).
    init?(_ value: JSONValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .number(let x): self = .number(x)
        case .bool(let b): self = .bool(b)
        case .array(let items):
            var strings: [String] = []
            for item in items {
                guard case .string(let s) = item else { return nil }
                strings.append(s)
            }
            self = .strings(strings)
        case .null, .object: return nil
        }
    }
}
