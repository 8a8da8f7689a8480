import Foundation
import JSONQuoting

/// The JSON files of a tokenizer folder: parsed by `JSONParser` (errors placed by line and column),
/// fields read with types that never trap, so callers can name the field in their error.
enum JSONFields {
    /// An integer (a JSON number with no fraction, `5.0` included, in Int32 range); booleans are not integers.
    static func int(_ value: JSONValue?) -> Int? {
        guard let i = value?.integer, abs(i) <= Int(Int32.max) else { return nil }
        return i
    }

    /// Whether a field is absent or `null`.
    static func isNull(_ value: JSONValue?) -> Bool { value == nil || value == .null }

    /// A special token as `tokenizer_config.json` writes it: a string, or `{"content": …, …}` (AddedToken).
    static func tokenContent(_ value: JSONValue?) -> String? {
        if let s = value?.string { return s }
        if value?.members != nil { return value?["content"]?.string }
        return nil
    }

    /// Parses `data` as a JSON object, or explains why it is not one (syntax errors by line and column).
    static func object(_ data: Data, file: String) throws -> JSONValue {
        let parsed: JSONValue
        do { parsed = try JSONParser.parseFile([UInt8](data)) } catch {
            throw TokenizerFileError(file: file, message: "not valid JSON: \(error)")
        }
        guard parsed.members != nil else { throw TokenizerFileError(file: file, message: "not a JSON object") }
        return parsed
    }

    /// A JSON string literal for the files pipe writes (DEL escaped too, like tokenizer.json).
    static func quoted(_ s: String) -> String { jsonQuoted(s, alsoEscape: [0x7F]) }
}
