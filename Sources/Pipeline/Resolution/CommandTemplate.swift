import Hashing

/// `${params.NAME}`, `${inputs.NAME}`, `${outs.NAME}` references in a `run:` command.
///
/// Any `${word.rest}` is a pipe reference (shell variables cannot contain dots, so this never
/// captures a real shell expansion); `${HOME}` and `$HOME` are left to the shell.
public struct CommandTemplate: Sendable, Hashable {
    public enum Namespace: String, Sendable, CaseIterable {
        case params, inputs, outs
    }

    public struct Reference: Sendable, Hashable {
        /// The namespace as written (may be invalid, e.g. `param`).
        public var namespace: String
        public var name: String
        /// Offset of `$` in the template, in Unicode scalars.
        public var offset: Int
        /// The whole reference text, `${params.lr}`.
        public var text: String
    }

    public enum Piece: Sendable, Hashable {
        case literal(String)
        case reference(Reference)
    }

    public let template: String
    public let pieces: [Piece]

    /// Parsed once per stage keyed, so it works on UTF-8 bytes (`$`, `{`, `.` and `}` are ASCII)
    /// and counts scalars only for the offsets.
    public init(_ template: String) {
        self.template = template
        var pieces: [Piece] = []
        let bytes = Array(template.utf8)
        var literalStart = 0
        var i = 0
        var scalarOffset = 0
        func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "$"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{"),
               let close = bytes[(i + 2)...].firstIndex(of: UInt8(ascii: "}")),
               let dot = bytes[(i + 2)..<close].firstIndex(of: UInt8(ascii: ".")),
               Self.isIdentifier(bytes[(i + 2)..<dot]) {
                if literalStart < i { pieces.append(.literal(text(literalStart..<i))) }
                pieces.append(.reference(Reference(namespace: text((i + 2)..<dot), name: text((dot + 1)..<close),
                                                   offset: scalarOffset, text: text(i..<(close + 1)))))
                for byte in bytes[i...close] where byte & 0xC0 != 0x80 { scalarOffset += 1 }
                i = close + 1
                literalStart = i
                continue
            }
            if bytes[i] & 0xC0 != 0x80 { scalarOffset += 1 }
            i += 1
        }
        if literalStart < bytes.count { pieces.append(.literal(text(literalStart..<bytes.count))) }
        self.pieces = pieces
    }

    public var references: [Reference] {
        pieces.compactMap { if case .reference(let r) = $0 { r } else { nil } }
    }

    /// Substitutes each reference with `replacement(namespace, name)`; nil keeps the reference text.
    public func render(_ replacement: (Namespace, String) -> String?) -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .literal(let text): out += text
            case .reference(let r):
                if let ns = Namespace(rawValue: r.namespace), let value = replacement(ns, r.name) {
                    out += value
                } else {
                    out += r.text
                }
            }
        }
        return out
    }

    private static func isIdentifier(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let first = bytes.first else { return false }
        if bytes.allSatisfy({ $0 < 0x80 }) {
            func letter(_ b: UInt8) -> Bool { (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") }
            guard first == UInt8(ascii: "_") || letter(first) else { return false }
            return bytes.allSatisfy { $0 == UInt8(ascii: "_") || letter($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }
        }
        let scalars = String(decoding: bytes, as: UTF8.self).unicodeScalars
        guard let head = scalars.first, head == "_" || head.properties.isAlphabetic else { return false }
        return scalars.allSatisfy { $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }
}

/// POSIX shell quoting: safe words stay as they are, anything else goes in single quotes.
public enum ShellQuote {
    public static func quote(_ text: String) -> String {
        if !text.isEmpty, text.unicodeScalars.allSatisfy(isSafe) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    private static func isSafe(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "@", "%", "+", "=", ":", ",", ".", "/", "-": true
        default: false
        }
    }

    /// A param value as it appears in a command: one quoted word, or one per list item.
    static func word(for value: ParamValue) -> String {
        switch value {
        case .list(let items): items.map { word(for: $0) }.joined(separator: " ")
        default: quote(value.description)
        }
    }
}

extension String {
    /// Foundation-free replacement (Pipeline avoids Foundation to keep `pipe` start-up fast).
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}

extension ResolvedStage {
    /// The command to run, with paths and param values shell-quoted. nil for built-in stages.
    /// An unbound optional input expands to `''`.
    public func expandedCommand(inputPaths: [String: String], outputPaths: [String: String]) -> String? {
        guard let template = commandTemplate else { return nil }
        return CommandTemplate(template).render { namespace, name in
            switch namespace {
            case .params: return param(name).map { ShellQuote.word(for: $0) }
            case .inputs: return ShellQuote.quote(inputPaths[name] ?? "")
            case .outs:
                guard let path = outputPaths[name] else { preconditionFailure("no path given for output '\(name)' of stage '\(self.name)'") }
                return ShellQuote.quote(path)
            }
        }
    }

    /// The command as it enters the key: params substituted, `${inputs.X}`/`${outs.X}` kept as
    /// placeholders, so the key does not depend on where the workspace or the store lives.
    public var keyCommand: String? {
        guard let template = commandTemplate else { return nil }
        return CommandTemplate(template).render { namespace, name in
            namespace == .params ? param(name).map { ShellQuote.word(for: $0) } : nil
        }
    }

    /// The key material for this stage. `inputDigests` must hold a digest for every bound input
    /// and `depDigests` one for every dep (keyed by workspace-relative path); `environment` is the
    /// numeric environment (e.g. `["blas": "openblas-0.3.21-haswell", "arch": "x86_64"]`).
    public func keyMaterial(inputDigests: [String: Digest], depDigests: [String: Digest],
                            environment: [String: String], seed: UInt64) -> KeyMaterial {
        let inputs = self.inputs.map { binding -> KeyMaterial.Input in
            guard let digest = inputDigests[binding.name] else {
                preconditionFailure("stage '\(name)': no digest given for input '\(binding.name)'")
            }
            return KeyMaterial.Input(name: binding.name, digest: digest, source: binding.reference)
        } + pathInputs.map { input -> KeyMaterial.Input in
            guard let digest = inputDigests[input.name] else {
                preconditionFailure("stage '\(name)': no digest given for input '\(input.name)'")
            }
            // Only the content is hashed: the same bytes at another path give the same key.
            return KeyMaterial.Input(name: input.name, digest: digest, source: input.reference)
        }
        let deps = self.deps.map { path -> KeyMaterial.Dep in
            guard let digest = depDigests[path] else {
                preconditionFailure("stage '\(name)': no digest given for dep '\(path)'")
            }
            return KeyMaterial.Dep(path: path, digest: digest)
        }
        return KeyMaterial(kind: kind, implementationVersion: implementationVersion,
                           params: params.filter { !nonKeyParams.contains($0.name) },
                           inputs: inputs, command: keyCommand, deps: deps,
                           environment: environment.map { KeyMaterial.EnvironmentEntry(name: $0.key, value: $0.value) },
                           seed: seed)
    }
}
