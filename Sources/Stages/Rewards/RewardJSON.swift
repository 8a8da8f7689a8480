/// A JSON value as scorers exchange it: dataset columns going out, responses coming back. Objects keep
/// their member order, so a request's bytes depend only on its content. The parser also accepts
/// `NaN`, `Infinity` and `-Infinity` (Python's `json.dumps` writes them), so that a scorer answering a
/// non-finite reward gets that error rather than "malformed JSON".
public enum RewardJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([RewardJSON])
    case object([(String, RewardJSON)])

    public static func == (a: RewardJSON, b: RewardJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y || (x.isNaN && y.isNaN)
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Compact JSON text (non-finite numbers become `null`, as JSON has no spelling for them).
    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let x): return JSONText.number(x)
        case .string(let s): return JSONText.quoted(s)
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let members): return JSONText.object(members.map { ($0.0, $0.1.text) })
        }
    }

    /// The member named `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> RewardJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// The value as text for text scorers: strings as they are, other scalars in their JSON spelling,
    /// null as the empty string.
    public var plainText: String {
        switch self {
        case .string(let s): return s
        case .null: return ""
        default: return text
        }
    }

    /// Parses one JSON document (surrounding whitespace allowed); the error says what and where.
    public static func parse(_ text: String) throws(RewardJSONError) -> RewardJSON {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    struct Parser {
        let bytes: [UInt8]
        var index = 0

        func error(_ what: String) -> RewardJSONError { RewardJSONError(message: what, offset: index) }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func literal(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard index + w.count <= bytes.count, Array(bytes[index..<(index + w.count)]) == w else { return false }
            index += w.count
            return true
        }

        mutating func value(depth: Int) throws(RewardJSONError) -> RewardJSON {
            guard depth < 256 else { throw error("nesting deeper than 256 levels") }
            guard index < bytes.count else { throw error("unexpected end of text") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [(String, RewardJSON)] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                while true {
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a quoted member name") }
                    let key = try string()
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after member name") }
                    index += 1
                    skipWhitespace()
                    members.append((key, try value(depth: depth + 1)))
                    skipWhitespace()
                    guard index < bytes.count else { throw error("unterminated object") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                    throw error("expected ',' or '}' in an object")
                }
            case UInt8(ascii: "["):
                index += 1
                var items: [RewardJSON] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                while true {
                    skipWhitespace()
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard index < bytes.count else { throw error("unterminated array") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                    throw error("expected ',' or ']' in an array")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            default:
                if literal("null") { return .null }
                if literal("true") { return .bool(true) }
                if literal("false") { return .bool(false) }
                if literal("NaN") { return .number(.nan) }
                if literal("Infinity") { return .number(.infinity) }
                if literal("-Infinity") { return .number(-.infinity) }
                return .number(try number())
            }
        }

        mutating func number() throws(RewardJSONError) -> Double {
            let start = index
            func isNumberByte(_ b: UInt8) -> Bool {
                (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || b == UInt8(ascii: ".")
                    || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
            }
            while index < bytes.count, isNumberByte(bytes[index]) { index += 1 }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            // JSON's grammar: -?(0|[1-9]digits)(.digits)?([eE][+-]?digits)?
            var chars = Array(text.utf8)[...]
            if chars.first == UInt8(ascii: "-") { chars = chars.dropFirst() }
            let isDigit = { (b: UInt8) in b >= 0x30 && b <= 0x39 }
            let intDigits = chars.prefix(while: isDigit)
            let valid: Bool = {
                guard !intDigits.isEmpty, !(intDigits.count > 1 && intDigits.first == 0x30) else { return false }
                var rest = chars.dropFirst(intDigits.count)
                if rest.first == UInt8(ascii: ".") {
                    rest = rest.dropFirst()
                    let frac = rest.prefix(while: isDigit)
                    guard !frac.isEmpty else { return false }
                    rest = rest.dropFirst(frac.count)
                }
                if rest.first == UInt8(ascii: "e") || rest.first == UInt8(ascii: "E") {
                    rest = rest.dropFirst()
                    if rest.first == UInt8(ascii: "+") || rest.first == UInt8(ascii: "-") { rest = rest.dropFirst() }
                    let exp = rest.prefix(while: isDigit)
                    guard !exp.isEmpty else { return false }
                    rest = rest.dropFirst(exp.count)
                }
                return rest.isEmpty
            }()
            guard valid, let value = Double(text) else {
                index = start
                throw error(text.isEmpty ? "expected a JSON value" : "'\(text)' is not a JSON number")
            }
            return value
        }

        mutating func string() throws(RewardJSONError) -> String {
            index += 1 // opening quote
            var out: [UInt8] = []
            while index < bytes.count {
                let b = bytes[index]
                if b == UInt8(ascii: "\"") { index += 1; return String(decoding: out, as: UTF8.self) }
                if b < 0x20 { throw error("control character in a string") }
                if b != UInt8(ascii: "\\") { out.append(b); index += 1; continue }
                index += 1
                guard index < bytes.count else { break }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count,
                       bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                        index += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired UTF-16 surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                    out += Array(String(Character(scalar)).utf8)
                default: throw error("bad escape '\\\(Character(Unicode.Scalar(e)))'")
                }
            }
            throw error("unterminated string")
        }

        mutating func hex4() throws(RewardJSONError) -> UInt32 {
            guard index + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16) else {
                throw error("bad \\u escape")
            }
            index += 4
            return v
        }
    }
}

/// Why a scorer's answer is not JSON, and the byte offset where reading stopped.
public struct RewardJSONError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}
