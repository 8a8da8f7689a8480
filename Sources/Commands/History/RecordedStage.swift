import Engine
import Foundation
import Hashing
import JSONQuoting
import Pipeline
import Store

/// What one stage of a finished run was built from and produced: its key, what went into the key
/// (params as canonical text, command, deps, inputs, environment) and its output digests. The lock
/// file stores these; `pipe reproduce` compares a re-execution against them.
public struct RecordedStage: Sendable, Equatable {
    public struct Input: Sendable, Equatable {
        public var name: String
        /// `stage.output`
        public var source: String
        public var digest: String
    }

    public var name: String
    public var kind: String
    public var version: Int
    /// Key (hex).
    public var key: String
    /// Param name → canonical value text as YAML (`1e-05`, `"text"`, `[1, 2]`), sorted by name.
    public var params: [(name: String, value: String)]
    public var command: String?
    /// Dep path → digest (hex), sorted by path.
    public var deps: [(path: String, digest: String)]
    /// Sorted by input name.
    public var inputs: [Input]
    /// Sorted by name.
    public var environment: [(name: String, value: String)]
    public var seed: UInt64
    /// Output name → digest (hex), sorted by name.
    public var outputs: [(name: String, digest: String)]

    /// - Parameter key: the material's key when the caller already has it (a run report does):
    ///   computing it again hashes the whole material.
    public init(name: String, material: KeyMaterial, outputs: [String: Digest], key knownKey: Digest? = nil) {
        self.name = name
        kind = material.kind
        version = material.implementationVersion
        key = (knownKey ?? material.key).hex
        params = material.params.map { ($0.name, $0.value.yamlText) }
        command = material.command
        deps = material.deps.map { ($0.path, $0.digest.hex) }
        inputs = material.inputs.map { Input(name: $0.name, source: $0.source, digest: $0.digest.hex) }
        environment = material.environment.map { ($0.name, $0.value) }
        seed = material.seed
        self.outputs = outputs.keys.sorted { $0.utf8Precedes($1) }.map { ($0, outputs[$0]!.hex) }
    }

    init(name: String, kind: String, version: Int, key: String, params: [(name: String, value: String)], command: String?,
         deps: [(path: String, digest: String)], inputs: [Input], environment: [(name: String, value: String)],
         seed: UInt64, outputs: [(name: String, digest: String)]) {
        self.name = name; self.kind = kind; self.version = version; self.key = key; self.params = params
        self.command = command; self.deps = deps; self.inputs = inputs; self.environment = environment
        self.seed = seed; self.outputs = outputs
    }

    public static func == (a: RecordedStage, b: RecordedStage) -> Bool {
        // Element by element, without copying the lists (a sweep's lock file compares thousands).
        a.name == b.name && a.kind == b.kind && a.version == b.version && a.key == b.key
            && a.params.elementsEqual(b.params) { $0.name == $1.name && $0.value == $1.value }
            && a.command == b.command && a.deps.elementsEqual(b.deps) { $0.path == $1.path && $0.digest == $1.digest }
            && a.inputs == b.inputs && a.environment.elementsEqual(b.environment) { $0.name == $1.name && $0.value == $1.value }
            && a.seed == b.seed && a.outputs.elementsEqual(b.outputs) { $0.name == $1.name && $0.digest == $1.digest }
    }

    public func output(_ name: String) -> String? { outputs.first { $0.name == name }?.digest }

    /// Why `material` (a new build of this stage) has a different key, split into what the user
    /// changed (params, command, deps, kind/version, seed), the machine (environment) and inputs.
    public func differences(from material: KeyMaterial) -> (definition: [String], environment: [String], inputs: [String]) {
        var definition: [String] = [], environmentChanges: [String] = [], inputChanges: [String] = []
        if kind != material.kind || version != material.implementationVersion {
            definition.append("implementation \(kind) v\(version) → \(material.kind) v\(material.implementationVersion)")
        }
        let newParams = material.params.map { ($0.name, $0.value.yamlText) }
        for name in Set(params.map(\.name) + newParams.map(\.0)).sorted(by: { $0.utf8Precedes($1) }) {
            let old = params.first { $0.name == name }?.value, new = newParams.first { $0.0 == name }?.1
            if old != new { definition.append("param \(name): \(old ?? "(none)") → \(new ?? "(none)")") }
        }
        if command != material.command { definition.append("command changed") }
        let newDeps = material.deps.map { ($0.path, $0.digest.hex) }
        for path in Set(deps.map(\.path) + newDeps.map(\.0)).sorted(by: { $0.utf8Precedes($1) }) {
            let old = deps.first { $0.path == path }?.digest, new = newDeps.first { $0.0 == path }?.1
            if old != new { definition.append("dep \(path) " + (old == nil ? "added" : new == nil ? "removed" : "changed")) }
        }
        if seed != material.seed { definition.append("seed \(seed) → \(material.seed)") }
        let newEnvironment = material.environment.map { ($0.name, $0.value) }
        for name in Set(environment.map(\.name) + newEnvironment.map(\.0)).sorted(by: { $0.utf8Precedes($1) }) {
            let old = environment.first { $0.name == name }?.value, new = newEnvironment.first { $0.0 == name }?.1
            if old != new { environmentChanges.append("\(name): \(old ?? "(none)") → \(new ?? "(none)")") }
        }
        for input in material.inputs {
            let old = inputs.first { $0.name == input.name }
            if old?.digest != input.digest.hex { inputChanges.append("input \(input.name) (\(input.source)) differs") }
        }
        return (definition, environmentChanges, inputChanges)
    }
}

extension ParamValue {
    /// The value as YAML flow text that `--set` / the lock reader types back to the same value:
    /// numbers and booleans plain, strings double-quoted (JSON escaping is valid YAML), lists `[a, b]`.
    public var yamlText: String {
        switch self {
        case .int(let v): return String(v)
        case .float(let v):
            if v.isNaN { return ".nan" }
            if v.isInfinite { return v > 0 ? ".inf" : "-.inf" }
            return v.description
        case .string(let v): return YAMLText.quoted(v)
        case .bool(let v): return v ? "true" : "false"
        case .list(let items): return "[" + items.map(\.yamlText).joined(separator: ", ") + "]"
        }
    }
}

extension Store.JSONValue {
    /// A registry param value as YAML flow text (see `ParamValue.yamlText`).
    var yamlText: String {
        switch self {
        case .null: return "null"
        case .bool(let v): return v ? "true" : "false"
        case .int(let v): return String(v)
        case .double(let v): return ParamValue.float(v).yamlText
        case .string(let v): return YAMLText.quoted(v)
        case .array(let items): return "[" + items.map(\.yamlText).joined(separator: ", ") + "]"
        case .object(let members):
            return "{" + members.keys.sorted { $0.utf8Precedes($1) }.map { YAMLText.quoted($0) + ": " + members[$0]!.yamlText }
                .joined(separator: ", ") + "}"
        }
    }
}

enum YAMLText {
    /// JSON string syntax, which YAML reads as a double-quoted scalar. Besides JSON's escapes: DEL,
    /// the C1 controls and U+FEFF (not printable in YAML, so a YAML reader rejects them raw), and
    /// U+2028/2029 (line breaks to many tools).
    static func quoted(_ text: String) -> String {
        asciiQuoted(text) ?? jsonQuoted(text, alsoEscape: yamlEscapes)
    }

    /// `quoted` for pure ASCII text, byte by byte (a sweep's lock file quotes a command per stage);
    /// nil for anything else. The same bytes as `jsonQuoted(_:alsoEscape: yamlEscapes)`.
    private static func asciiQuoted(_ text: String) -> String? {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(text.utf8.count + 8)
        let hex = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20, 0x7F:  // controls, and DEL (one of `yamlEscapes`)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            case 0x80...: return nil
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    static let yamlEscapes: Set<UInt32> = Set(0x7F...0x9F).union([0x2028, 0x2029, 0xFEFF])

    /// Keys and values that read back unchanged without quotes.
    static func isPlainSafe(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, !text.hasSuffix(" ") else { return false }
        guard isAlphanumeric(first) || first == "_" || first == "/" else { return false }
        return text.unicodeScalars.allSatisfy { isAlphanumeric($0) || "_-./@+".unicodeScalars.contains($0) }
            && !["true", "false", "null", "yes", "no", "on", "off", "~"].contains(text.lowercased())
    }

    /// `CharacterSet.alphanumerics`, answered without it for ASCII (a lock file of a large sweep
    /// asks this for every character of every key it writes).
    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        guard scalar.isASCII else { return CharacterSet.alphanumerics.contains(scalar) }
        return (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
    }

    static func key(_ text: String) -> String { isPlainSafe(text) ? text : quoted(text) }
}
