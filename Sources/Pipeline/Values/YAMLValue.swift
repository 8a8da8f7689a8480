/// A YAML value as written, before it is typed against a declaration, with its position.
///
/// Plain (unquoted) scalars are typed later by YAML 1.2 core rules (`2e-6` is a float, `true` a bool);
/// quoted, literal and folded scalars are always strings.
public struct YAMLValue: Sendable, CustomStringConvertible {
    public indirect enum Content: Sendable {
        case scalar(String, plain: Bool)
        case sequence([YAMLValue])
        case mapping([(key: YAMLValue, value: YAMLValue)])
    }

    public var content: Content
    /// nil for values that came from the command line (`--set`, `--sweep`).
    public var location: SourceLocation?

    public init(_ content: Content, location: SourceLocation?) {
        self.content = content
        self.location = location
    }

    public var scalarText: String? {
        if case .scalar(let text, _) = content { return text }
        return nil
    }

    /// How the value reads in a message.
    public var description: String {
        switch content {
        case .scalar(let text, let plain): plain ? text : "\"\(text)\""
        case .sequence(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .mapping(let pairs): "{" + pairs.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    /// A short noun for "found ..." in type errors.
    var kindDescription: String {
        switch content {
        case .scalar(let text, let plain):
            guard plain else { return "string \"\(Self.excerpt(text))\"" }
            switch YAMLScalar.classify(text) {
            case .null: return "null"
            case .bool: return "bool \(text)"
            case .int: return "int \(text)"
            case .float: return "float \(text)"
            case .string: return "string \"\(Self.excerpt(text))\""
            }
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// A scalar as a diagnostic quotes it: whole up to 60 characters, else its first 57 and "…" (a
    /// text file given as a pipeline is one long scalar).
    static func excerpt(_ text: String) -> String {
        text.count <= 60 ? text : String(text.prefix(57)) + "…"
    }
}

/// YAML 1.2 core schema resolution of plain scalars (the spec, not libyaml's YAML 1.1 habits:
/// `2e-6` and `.2` are floats, `yes`/`on` are strings).
enum YAMLScalar {
    enum Resolved: Equatable {
        case null
        case bool(Bool)
        case int(Int64)
        case float(Double)
        case string(String)
    }

    static func classify(_ text: String) -> Resolved {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        default: break
        }
        let utf8 = Array(text.utf8)
        if isDecimalInt(utf8) {
            if let v = Int64(text.hasPrefix("+") ? String(text.dropFirst()) : text) { return .int(v) }
            return .string(text)  // out of Int64 range: reported as a type error by the caller
        }
        if utf8.count > 2, utf8[0] == UInt8(ascii: "0") {
            let body = String(text.dropFirst(2))
            if utf8[1] == UInt8(ascii: "x"), let v = Int64(body, radix: 16) { return .int(v) }
            if utf8[1] == UInt8(ascii: "o"), let v = Int64(body, radix: 8) { return .int(v) }
        }
        if isFloat(utf8), let v = Double(text) { return .float(v) }
        return .string(text)
    }

    /// `[-+]?[0-9]+`
    static func isDecimalInt(_ s: [UInt8]) -> Bool {
        var i = 0
        if i < s.count, s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+") { i += 1 }
        guard i < s.count else { return false }
        while i < s.count { guard isDigit(s[i]) else { return false }; i += 1 }
        return true
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    private static func isFloat(_ s: [UInt8]) -> Bool {
        var i = 0
        if i < s.count, s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+") { i += 1 }
        var mantissaDigits = 0
        while i < s.count, isDigit(s[i]) { i += 1; mantissaDigits += 1 }
        if i < s.count, s[i] == UInt8(ascii: ".") {
            i += 1
            while i < s.count, isDigit(s[i]) { i += 1; mantissaDigits += 1 }
        }
        guard mantissaDigits > 0 else { return false }
        if i < s.count, s[i] == UInt8(ascii: "e") || s[i] == UInt8(ascii: "E") {
            i += 1
            if i < s.count, s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+") { i += 1 }
            var exponentDigits = 0
            while i < s.count, isDigit(s[i]) { i += 1; exponentDigits += 1 }
            guard exponentDigits > 0 else { return false }
        }
        return i == s.count
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}
