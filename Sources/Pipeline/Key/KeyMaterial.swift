import Hashing

/// Everything that goes into a stage's cache key (ARCHITECTURE.md, "The stage key"), as plain data.
///
/// The runner builds it with `ResolvedStage.keyMaterial(...)`, stores it in the stage record, and
/// `changes(from:)` compares it with the previous record to explain why a stage must run.
/// `key` is SHA-256 over `canonicalBytes` (the format is documented on that property).
public struct KeyMaterial: Sendable, Codable, Hashable {
    public static let currentScheme = "pipe.key.v1"

    public struct Input: Sendable, Codable, Hashable {
        public var name: String
        public var digest: Digest
        /// `stage.output` it came from. Informational, NOT hashed: renaming an upstream stage
        /// whose output is byte-identical must not change this key.
        public var source: String

        public init(name: String, digest: Digest, source: String) {
            self.name = name
            self.digest = digest
            self.source = source
        }
    }

    public struct Dep: Sendable, Codable, Hashable {
        public var path: String
        public var digest: Digest

        public init(path: String, digest: Digest) {
            self.path = path
            self.digest = digest
        }
    }

    public struct EnvironmentEntry: Sendable, Codable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var scheme: String
    public var kind: String
    public var implementationVersion: Int
    /// Sorted by name.
    public var params: [ResolvedParam]
    /// Sorted by input name.
    public var inputs: [Input]
    /// Command stages only: the template with params substituted and `${inputs.X}`/`${outs.X}`
    /// left as placeholders (so the key does not depend on where the workspace or store is).
    public var command: String?
    /// Sorted by path.
    public var deps: [Dep]
    /// The numeric environment that changes results (e.g. `blas`, `arch`, `threads`), sorted by name.
    public var environment: [EnvironmentEntry]
    public var seed: UInt64

    /// Builds material with every list sorted into canonical order.
    public init(scheme: String = KeyMaterial.currentScheme, kind: String, implementationVersion: Int,
                params: [ResolvedParam], inputs: [Input], command: String?, deps: [Dep],
                environment: [EnvironmentEntry], seed: UInt64) {
        self.scheme = scheme
        self.kind = kind
        self.implementationVersion = implementationVersion
        self.params = params.sorted { $0.name.utf8Precedes($1.name) }
        self.inputs = inputs.sorted { $0.name.utf8Precedes($1.name) }
        self.command = command
        self.deps = deps.sorted { $0.path.utf8Precedes($1.path) }
        self.environment = environment.sorted { $0.name.utf8Precedes($1.name) }
        self.seed = seed
    }

    /// The canonical encoding (Hashing.CanonicalEncoder: one tag byte per value, u64 little-endian
    /// lengths, floats as IEEE-754 bits with -0 → 0):
    ///
    ///     field "scheme"      string
    ///     field "kind"        string
    ///     field "version"     int
    ///     field "params"      map { field <name> <typed value> }      sorted by name
    ///     field "inputs"      map { field <name> bytes(digest) }      sorted by name
    ///     field "command"     string | null
    ///     field "deps"        map { field <path> bytes(digest) }      sorted by path
    ///     field "environment" map { field <name> string }             sorted by name
    ///     field "seed"        int (the UInt64's bit pattern)
    ///
    /// Tests/PipelineTests/key_golden.py re-implements this independently.
    public var canonicalBytes: [UInt8] { encoder.bytes }

    /// The stage key.
    public var key: Digest { encoder.sha256 }

    private var encoder: CanonicalEncoder {
        // Sorted again here: the lists are public vars, and the key must not depend on their order.
        let params = params.sorted { $0.name.utf8Precedes($1.name) }
        let inputs = inputs.sorted { $0.name.utf8Precedes($1.name) }
        let deps = deps.sorted { $0.path.utf8Precedes($1.path) }
        let environment = environment.sorted { $0.name.utf8Precedes($1.name) }
        var e = CanonicalEncoder()
        e.field("scheme") { $0.string(scheme) }
        e.field("kind") { $0.string(kind) }
        e.field("version") { $0.int(Int64(implementationVersion)) }
        e.field("params") { e in
            e.map { m in for p in params { m.field(p.name) { p.value.encode(into: &$0) } } }
        }
        e.field("inputs") { e in
            e.map { m in for i in inputs { m.field(i.name) { $0.digest(i.digest) } } }
        }
        e.field("command") { e in
            if let command { e.string(command) } else { e.null() }
        }
        e.field("deps") { e in
            e.map { m in for d in deps { m.field(d.path) { $0.digest(d.digest) } } }
        }
        e.field("environment") { e in
            e.map { m in for v in environment { m.field(v.name) { $0.string(v.value) } } }
        }
        e.field("seed") { $0.int(Int64(bitPattern: seed)) }
        return e
    }
}
