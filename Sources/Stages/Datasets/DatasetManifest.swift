import JSONQuoting
/// `dataset.json`, the description at the top of a dataset artifact:
///
///     {"fields":["input","instruction"],"format":"pipe.dataset/1","kind":"prompt-completion",
///      "sources":[{"digest":"<sha256 hex>","path":"alpaca.json"}],"splits":{"test":50,"train":900,"valid":50}}
///
/// Canonical JSON: keys sorted by UTF-8 bytes, no spaces, one trailing newline.
public struct DatasetManifest: Sendable, Equatable {
    public static let currentFormat = "pipe.dataset/1"
    public static let fileName = "dataset.json"

    /// One imported source file: its path relative to the `source` input, and SHA-256 of its bytes.
    public struct Source: Sendable, Equatable {
        public var path: String
        public var digest: String

        public init(path: String, digest: String) {
            self.path = path
            self.digest = digest
        }
    }

    public var format: String
    public var kind: DatasetKind
    /// Split name → record count, sorted by name. Every split has a `<name>.jsonl` file.
    public var splits: [(name: String, count: Int)]
    /// Names of every `fields` column seen in any record, sorted.
    public var fields: [String]
    public var sources: [Source]

    public init(kind: DatasetKind, splits: [(name: String, count: Int)], fields: [String], sources: [Source]) {
        self.format = Self.currentFormat
        self.kind = kind
        self.splits = splits.sorted { $0.name.utf8Precedes($1.name) }
        self.fields = fields.sorted { $0.utf8Precedes($1) }
        self.sources = sources
    }

    public static func == (a: DatasetManifest, b: DatasetManifest) -> Bool {
        a.format == b.format && a.kind == b.kind && a.fields == b.fields && a.sources == b.sources
            && a.splits.map(\.name) == b.splits.map(\.name) && a.splits.map(\.count) == b.splits.map(\.count)
    }

    /// The record count of a split (nil if the dataset has no such split).
    public func count(of split: String) -> Int? { splits.first { $0.name == split }?.count }

    /// The canonical file text.
    public var json: String {
        JSONText.object([
            ("fields", "[" + fields.map(JSONText.quoted).joined(separator: ",") + "]"),
            ("format", JSONText.quoted(format)),
            ("kind", JSONText.quoted(kind.rawValue)),
            ("sources", "[" + sources.map {
                JSONText.object([("digest", JSONText.quoted($0.digest)), ("path", JSONText.quoted($0.path))])
            }.joined(separator: ",") + "]"),
            ("splits", JSONText.object(splits.map { ($0.name, String($0.count)) })),
        ]) + "\n"
    }

    /// Parses `dataset.json`; `file` names it in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws -> DatasetManifest {
        func bad(_ why: String) -> StageError {
            .failed("\(file): \(why) (is the input a dataset stage's `data` output?)")
        }
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch { throw bad("malformed JSON: \(error.message)") }
        guard case .string(let format)? = root["format"] else { throw bad("missing \"format\"") }
        guard format == currentFormat else { throw bad("format \"\(format)\" is not \(currentFormat)") }
        guard case .string(let kindName)? = root["kind"], let kind = DatasetKind(rawValue: kindName) else {
            throw bad("\"kind\" must be one of " + DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard case .object(let splitMembers)? = root["splits"] else { throw bad("missing \"splits\" object") }
        var splits: [(name: String, count: Int)] = []
        for member in splitMembers {
            guard let n = member.value.nonNegativeInteger else {
                throw bad("split \"\(member.key)\": count must be a non-negative integer")
            }
            splits.append((member.key, n))
        }
        guard case .array(let fieldValues)? = root["fields"] else { throw bad("missing \"fields\" array") }
        let fields = try fieldValues.map { value -> String in
            guard case .string(let s) = value else { throw bad("\"fields\" must hold strings") }
            return s
        }
        guard case .array(let sourceValues)? = root["sources"] else { throw bad("missing \"sources\" array") }
        let sources = try sourceValues.map { value -> Source in
            guard case .string(let path)? = value["path"], case .string(let digest)? = value["digest"] else {
                throw bad("each source needs \"path\" and \"digest\" strings")
            }
            return Source(path: path, digest: digest)
        }
        return DatasetManifest(kind: kind, splits: splits, fields: fields, sources: sources)
    }
}
