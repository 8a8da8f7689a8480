import Hashing

/// The declared type of a stage param (`type:` in `stages/<kind>.yaml`).
public enum ParamType: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case int, float, string, bool, list

    public var description: String { rawValue }
}

/// A typed param value. Floats hold the parsed Double, so `2e-6`, `2.0e-6` and `0.000002` are equal.
public indirect enum ParamValue: Sendable, Hashable, CustomStringConvertible {
    case int(Int64)
    case float(Double)
    case string(String)
    case bool(Bool)
    case list([ParamValue])

    public var type: ParamType {
        switch self {
        case .int: .int
        case .float: .float
        case .string: .string
        case .bool: .bool
        case .list: .list
        }
    }

    /// Canonical display form: shortest round-trip for floats (`1e-05`, `0.2`, `4.0`), decimal ints,
    /// raw strings, `true`/`false`, lists as `[a, b]`. Used in messages, variant names and `pipe show`.
    public var description: String {
        switch self {
        case .int(let v): String(v)
        case .float(let v): v.description
        case .string(let v): v
        case .bool(let v): v ? "true" : "false"
        case .list(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }

    /// The number as a Double, for min/max checks (nil for non-numbers).
    public var numericValue: Double? {
        switch self {
        case .int(let v): Double(v)
        case .float(let v): v
        default: nil
        }
    }

    /// Writes the value type-tagged into a canonical key encoding.
    public func encode(into encoder: inout CanonicalEncoder) {
        switch self {
        case .int(let v): encoder.int(v)
        case .float(let v): encoder.float(v)
        case .string(let v): encoder.string(v)
        case .bool(let v): encoder.bool(v)
        case .list(let items): encoder.list { e in for item in items { item.encode(into: &e) } }
        }
    }
}

/// JSON form is tagged (`{"float": 4.0}`) so that a float that happens to be integral survives a
/// round trip through a stage record with its type, and a recomputed key stays the same.
extension ParamValue: Codable {
    private enum CodingKeys: String, CodingKey { case int, float, string, bool, list }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let v = try c.decodeIfPresent(Int64.self, forKey: .int) { self = .int(v) }
        else if let v = try c.decodeIfPresent(Double.self, forKey: .float) { self = .float(v) }
        else if let v = try c.decodeIfPresent(String.self, forKey: .string) { self = .string(v) }
        else if let v = try c.decodeIfPresent(Bool.self, forKey: .bool) { self = .bool(v) }
        else if let v = try c.decodeIfPresent([ParamValue].self, forKey: .list) { self = .list(v) }
        else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "expected one of int, float, string, bool, list"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .int(let v): try c.encode(v, forKey: .int)
        case .float(let v): try c.encode(v, forKey: .float)
        case .string(let v): try c.encode(v, forKey: .string)
        case .bool(let v): try c.encode(v, forKey: .bool)
        case .list(let v): try c.encode(v, forKey: .list)
        }
    }
}

/// A param name with its resolved value; stages keep these sorted by name (UTF-8 byte order).
public struct ResolvedParam: Sendable, Codable, Hashable {
    public var name: String
    public var value: ParamValue

    public init(name: String, value: ParamValue) {
        self.name = name
        self.value = value
    }
}
