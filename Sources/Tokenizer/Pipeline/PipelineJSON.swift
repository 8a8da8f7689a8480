import JSONQuoting

/// Reading one component of a `tokenizer.json` pipeline (normalizer, pre_tokenizer, model, decoder):
/// each field checked with its path, so a refusal names the file and the field.
struct PipelineJSON {
    let file: String

    func fail(_ message: String) -> TokenizerFileError { TokenizerFileError(file: file, message: message) }

    /// The `type` of a component object.
    func type(_ value: JSONValue, _ path: String) throws -> String {
        guard value.members != nil else { throw fail("\(path) must be an object or null") }
        guard let type = value["type"]?.string else { throw fail("\(path).type must be a string") }
        return type
    }

    func bool(_ value: JSONValue, _ key: String, _ path: String, default fallback: Bool) throws -> Bool {
        guard let v = value[key], !JSONFields.isNull(v) else { return fallback }
        guard let b = v.bool else { throw fail("\(path).\(key) must be true or false, got \(v.quotedForMessage)") }
        return b
    }

    func string(_ value: JSONValue, _ key: String, _ path: String, default fallback: String? = nil) throws -> String {
        guard let v = value[key], !JSONFields.isNull(v) else {
            if let fallback { return fallback }
            throw fail("\(path).\(key) must be a string")
        }
        guard let s = v.string else { throw fail("\(path).\(key) must be a string, got \(v.quotedForMessage)") }
        return s
    }

    func int(_ value: JSONValue, _ key: String, _ path: String, default fallback: Int) throws -> Int {
        guard let v = value[key], !JSONFields.isNull(v) else { return fallback }
        guard let i = JSONFields.int(v), i >= 0 else { throw fail("\(path).\(key) must be a non-negative integer, got \(v.quotedForMessage)") }
        return i
    }

    /// A single character (`Metaspace.replacement`, `CharDelimiterSplit.delimiter`, `Strip.content`).
    func scalar(_ value: JSONValue, _ key: String, _ path: String) throws -> UInt32 {
        let s = try string(value, key, path)
        guard s.unicodeScalars.count == 1 else { throw fail("\(path).\(key) must be a single character, got \(quoted(s))") }
        return s.unicodeScalars.first!.value
    }

    func list(_ value: JSONValue, _ key: String, _ path: String) throws -> [JSONValue] {
        guard let items = value[key]?.array else { throw fail("\(path).\(key) must be a list") }
        return items
    }

    /// `{"String": "…"}` or `{"Regex": "…"}` (the `pattern` of Split and Replace).
    func pattern(_ value: JSONValue, _ path: String) throws -> SplitPattern {
        let p = value["pattern"] ?? .null
        if let s = p["String"]?.string { return .literal(Self.scalars(s)) }
        if let r = p["Regex"]?.string {
            guard let known = SplitPattern.knownRegexes[r] else {
                throw fail("\(path).pattern: the regex \(JSONFields.quoted(r)) is not supported (pipe matches regexes exactly as "
                    + "tokenizers does only for GPT-2's pattern)")
            }
            return known
        }
        throw fail("\(path).pattern must be {\"String\": …} or {\"Regex\": …}")
    }

    static func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }
}

/// Scalars back to a String (invalid values, which never come from a String, are dropped).
func stringOfScalars(_ scalars: some Sequence<UInt32>) -> String {
    var view = String.UnicodeScalarView()
    for v in scalars { if let s = Unicode.Scalar(v) { view.append(s) } }
    return String(view)
}
