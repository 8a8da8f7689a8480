import JSONQuoting

/// A JSON value as scorers exchange it: dataset columns going out, responses coming back. Objects keep
/// their member order, so a request's bytes depend only on its content. Reading also accepts
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

    /// Parses one JSON document (surrounding whitespace allowed) with the one JSON reader,
    /// Python's non-finite spellings allowed; the error says what and where.
    public static func parse(_ text: String) throws(RewardJSONError) -> RewardJSON {
        do throws(JSONSyntaxError) {
            return RewardJSON(try JSONParser.parse(Array(text.utf8), allowingNonFinite: true))
        } catch {
            throw RewardJSONError(message: error.message, offset: error.offset)
        }
    }

    /// The same value, members in the same order.
    init(_ value: JSONValue) {
        switch value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let x): self = .number(x)
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(RewardJSON.init))
        case .object(let members): self = .object(members.map { ($0.key, RewardJSON($0.value)) })
        }
    }
}

/// Why a scorer's answer is not JSON, and the byte offset where reading stopped.
public struct RewardJSONError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}
