import JSONQuoting

/// Deterministic JSON text for the files stages write (JSONL records, metrics): keys in the order
/// given, numbers in Swift's shortest round-trip form, strings with raw UTF-8 (only the escapes JSON
/// requires). Foundation's encoders are avoided because their key order and number formatting vary.
public enum JSONText {
    public static func quoted(_ s: String) -> String {
        // U+2028/2029 too: valid in JSON, but line breaks to JavaScript and to line-oriented tools.
        jsonQuoted(s, alsoEscape: [0x7F, 0x2028, 0x2029])
    }

    /// A JSON number; NaN and ±infinity (not representable in JSON) become `null`.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// An object from ordered (key, already-encoded JSON value) pairs.
    public static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { quoted($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}
