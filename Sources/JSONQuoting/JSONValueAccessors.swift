/// Typed reads of a `JSONValue` that never trap: a wrong type gives nil, so the reader can name the
/// field in its error.
extension JSONValue {
    /// The text of a string (nil for any other value).
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value of `true` / `false` (nil for any other value; the numbers 0 and 1 are not booleans).
    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The value of a number (nil for any other value; booleans are not numbers).
    public var number: Double? {
        if case .number(let x) = self { return x }
        return nil
    }

    /// A number with no fraction that fits in an `Int`: `5` and `5.0` are both 5 (Python's `json`
    /// writes some integer fields as floats); nil for `5.5`, non-numbers and numbers too large.
    public var integer: Int? {
        guard case .number(let x) = self else { return nil }
        return Int(exactly: x)
    }

    /// A whole, non-negative number that fits in an `Int` (a count, a size, an offset); nil for
    /// anything else, including −0 and numbers too large to convert.
    public var nonNegativeInteger: Int? {
        guard case .number(let x) = self, x.sign == .plus else { return nil }
        return integer
    }

    /// The items of an array (nil for any other value).
    public var array: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The members of an object in file order (nil for any other value).
    public var members: [JSONMember]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// The value as an error message quotes it after "got": scalars as JSON text (`"768"`, `true`,
    /// `1e-05` as `1e-05`'s shortest form), containers by kind, long strings shortened.
    public var quotedForMessage: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let x): return x == x.rounded() && abs(x) < 0x1p53 ? String(Int64(x)) : "\(x)"
        case .string(let s):
            let shown = s.unicodeScalars.count > 60 ? String(String.UnicodeScalarView(s.unicodeScalars.prefix(60))) + "…" : s
            return jsonQuoted(shown, alsoEscape: [0x7F, 0x2028, 0x2029])
        case .array, .object: return typeName
        }
    }
}
