import Foundation
import Hashing

/// `pipelines/<name>.lock` (and `<name>.sweep.lock` for sweeps): what the last successful run of a
/// pipeline used and produced, per stage — key, resolved params, command, dep and input digests,
/// numeric environment, output digests. Like dvc.lock: human-readable YAML, deterministic (same
/// results → same bytes; no timestamps or run ids), meant to be committed next to the pipeline.
/// `pipe reproduce --lock FILE` re-executes it and `pipe gc` keeps what it references.
public struct LockFile: Sendable, Equatable {
    public static let schema = "pipe.lock.v1"

    public struct Variant: Sendable, Equatable {
        /// `base` for a plain run, else the sweep variant's name.
        public var name: String
        /// `stage.param` → value text (sweep variants only), in axis order.
        public var overrides: [(target: String, value: String)]
        /// In pipeline (topological) order.
        public var stages: [RecordedStage]

        public init(name: String, overrides: [(target: String, value: String)], stages: [RecordedStage]) {
            self.name = name; self.overrides = overrides; self.stages = stages
        }

        public static func == (a: Variant, b: Variant) -> Bool {
            a.name == b.name && a.stages == b.stages
                && a.overrides.map(\.target) == b.overrides.map(\.target) && a.overrides.map(\.value) == b.overrides.map(\.value)
        }
    }

    /// The pipeline's `name:`.
    public var pipeline: String
    /// The pipeline file, relative to the lock file's directory.
    public var file: String
    public var variants: [Variant]
    public var isSweep: Bool

    public init(pipeline: String, file: String, variants: [Variant], isSweep: Bool) {
        self.pipeline = pipeline; self.file = file; self.variants = variants; self.isSweep = isSweep
    }

    /// `pipelines/rlhf.yaml` → `pipelines/rlhf.lock` (`pipelines/rlhf.sweep.lock` for a sweep).
    public static func path(forPipeline file: String, sweep: Bool = false) -> String {
        var base = (file as NSString).lastPathComponent
        for suffix in [".yaml", ".yml"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
        let directory = (file as NSString).deletingLastPathComponent
        return (directory.isEmpty ? "" : directory + "/") + base + (sweep ? ".sweep.lock" : ".lock")
    }

    // MARK: Writing

    public var text: String {
        var out = "# Written by pipe after each successful run of \(file): per stage its key, resolved params,\n"
        out += "# input and dep digests and output digests. Commit it with the pipeline; `pipe reproduce --lock`\n"
        out += "# re-executes it and checks every digest; `pipe gc` keeps what it references. Do not edit.\n"
        out += "schema: \(Self.schema)\n"
        out += "pipeline: \(YAMLText.key(pipeline))\n"
        out += "file: \(YAMLText.key(file))\n"
        if isSweep {
            out += "variants:\n"
            for variant in variants {
                out += "  \(YAMLText.key(variant.name)):\n"
                if !variant.overrides.isEmpty {
                    out += "    overrides:\n"
                    for (target, value) in variant.overrides { out += "      \(YAMLText.key(target)): \(value)\n" }
                }
                out += Self.stagesText(variant.stages, indent: "    ")
            }
        } else {
            out += Self.stagesText(variants.first?.stages ?? [], indent: "")
        }
        return out
    }

    static func stagesText(_ stages: [RecordedStage], indent: String) -> String {
        var out = indent + "stages:" + (stages.isEmpty ? " {}" : "") + "\n"
        let i1 = indent + "  ", i2 = i1 + "  ", i3 = i2 + "  "
        func map(_ name: String, _ pairs: [(String, String)]) -> String {
            guard !pairs.isEmpty else { return "\(i2)\(name): {}\n" }
            return "\(i2)\(name):\n" + pairs.map { "\(i3)\(YAMLText.key($0.0)): \($0.1)\n" }.joined()
        }
        for stage in stages {
            out += "\(i1)\(YAMLText.key(stage.name)):\n"
            out += "\(i2)kind: \(YAMLText.key(stage.kind))\n"
            out += "\(i2)version: \(stage.version)\n"
            out += "\(i2)key: \(stage.key)\n"
            out += "\(i2)seed: \(stage.seed)\n"
            out += map("params", stage.params.map { ($0.name, $0.value) })
            if let command = stage.command { out += "\(i2)command: \(YAMLText.quoted(command))\n" }
            out += map("deps", stage.deps.map { ($0.path, $0.digest) })
            if stage.inputs.isEmpty {
                out += "\(i2)inputs: {}\n"
            } else {
                out += "\(i2)inputs:\n"
                for input in stage.inputs {
                    out += "\(i3)\(YAMLText.key(input.name)):\n"
                    out += "\(i3)  from: \(YAMLText.key(input.source))\n"
                    out += "\(i3)  digest: \(input.digest)\n"
                }
            }
            out += map("environment", stage.environment.map { ($0.name, YAMLText.quoted($0.value)) })
            out += map("outs", stage.outputs.map { ($0.name, $0.digest) })
        }
        return out
    }

    /// Writes atomically (temp file + rename) and only when the bytes change, so an unchanged
    /// pipeline leaves the file's mtime alone.
    public func write(to path: String) throws {
        let data = Data(text.utf8)
        if let existing = FileManager.default.contents(atPath: path), existing == data { return }
        let temporary = path + ".tmp~\(getpid())"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw RunnerError.io("cannot write \(path): \(reason)")
        }
    }

    // MARK: Reading

    public static func read(path: String) throws -> LockFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunnerError.io("cannot read lock file \(path)")
        }
        let root = try LockYAML.parse(String(decoding: data, as: UTF8.self), file: path)
        func fail(_ message: String) -> RunnerError { RunnerError.io("\(path): \(message)") }
        guard root["schema"]?.text == schema else {
            throw fail("not a \(schema) lock file (schema: \(root["schema"]?.text ?? "missing"))")
        }
        guard let pipeline = root["pipeline"]?.text, let file = root["file"]?.text else { throw fail("missing pipeline: or file:") }
        if let variantsNode = root["variants"] {
            var variants: [Variant] = []
            for (name, node) in variantsNode.entries {
                let overrides = (node["overrides"]?.entries ?? []).map { ($0.key, $0.value.raw) }
                variants.append(Variant(name: name, overrides: overrides, stages: try stages(node["stages"], fail)))
            }
            return LockFile(pipeline: pipeline, file: file, variants: variants, isSweep: true)
        }
        return LockFile(pipeline: pipeline, file: file,
                        variants: [Variant(name: "base", overrides: [], stages: try stages(root["stages"], fail))], isSweep: false)
    }

    private static func stages(_ node: LockYAML.Node?, _ fail: (String) -> RunnerError) throws -> [RecordedStage] {
        guard let node else { throw fail("missing stages:") }
        return try node.entries.map { name, stage in
            guard let kind = stage["kind"]?.text, let key = stage["key"]?.text else { throw fail("stage \(name): missing kind: or key:") }
            let pairs = { (field: String) -> [(String, String)] in (stage[field]?.entries ?? []).map { ($0.key, $0.value.text ?? "") } }
            return RecordedStage(
                name: name, kind: kind, version: Int(stage["version"]?.text ?? "") ?? 1, key: key,
                params: (stage["params"]?.entries ?? []).map { ($0.key, $0.value.raw) },
                command: stage["command"]?.text, deps: pairs("deps").map { (path: $0.0, digest: $0.1) },
                inputs: (stage["inputs"]?.entries ?? []).map {
                    RecordedStage.Input(name: $0.key, source: $0.value["from"]?.text ?? "", digest: $0.value["digest"]?.text ?? "")
                },
                environment: pairs("environment").map { (name: $0.0, value: $0.1) }, seed: UInt64(stage["seed"]?.text ?? "") ?? 0,
                outputs: pairs("outs").map { (name: $0.0, digest: $0.1) })
        }
    }

    /// Every stage key and output digest the lock names (for gc).
    public var referencedKeys: [String] { variants.flatMap { $0.stages.map(\.key) } }
    public var referencedObjects: [String] { variants.flatMap { $0.stages.flatMap { $0.outputs.map(\.digest) } } }
}

/// The subset of YAML the lock writer emits: block mappings by two-space indentation, `{}` for an
/// empty mapping, scalars plain or double-quoted (JSON escapes), `#` comments on their own lines.
enum LockYAML {
    indirect enum Node {
        /// `raw` as written (quotes included).
        case scalar(raw: String)
        case mapping([(key: String, value: Node)])

        subscript(key: String) -> Node? {
            if case .mapping(let entries) = self { return entries.first { $0.key == key }?.value }
            return nil
        }

        var entries: [(key: String, value: Node)] {
            if case .mapping(let entries) = self { return entries }
            return []
        }

        var raw: String {
            if case .scalar(let raw) = self { return raw }
            return ""
        }

        /// The scalar's text (quotes removed, escapes decoded).
        var text: String? {
            guard case .scalar(let raw) = self else { return nil }
            return LockYAML.unquote(raw)
        }
    }

    static func unquote(_ raw: String) -> String {
        guard raw.hasPrefix("\""),
              let decoded = try? JSONDecoder().decode(String.self, from: Data(raw.utf8)) else { return raw }
        return decoded
    }

    static func parse(_ text: String, file: String) throws -> Node {
        var lines: [(number: Int, indent: Int, body: Substring)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let body = line.drop { $0 == " " }
            if body.isEmpty || body.hasPrefix("#") { continue }
            lines.append((index + 1, line.count - body.count, body))
        }
        var position = 0
        func block(indent: Int) throws -> Node {
            var entries: [(key: String, value: Node)] = []
            while position < lines.count, lines[position].indent == indent {
                let (number, _, body) = lines[position]
                position += 1
                let (key, rest) = try splitKey(body, line: number, file: file)
                if rest.isEmpty {
                    if position < lines.count, lines[position].indent > indent {
                        entries.append((key, try block(indent: lines[position].indent)))
                    } else {
                        entries.append((key, .mapping([])))
                    }
                } else if rest == "{}" {
                    entries.append((key, .mapping([])))
                } else {
                    entries.append((key, .scalar(raw: rest)))
                }
            }
            if position < lines.count, lines[position].indent > indent {
                throw RunnerError.io("\(file):\(lines[position].number): unexpected indentation")
            }
            return .mapping(entries)
        }
        let root = try block(indent: 0)
        if position < lines.count { throw RunnerError.io("\(file):\(lines[position].number): unexpected indentation") }
        return root
    }

    private static func splitKey(_ body: Substring, line: Int, file: String) throws -> (String, String) {
        if body.hasPrefix("\"") {
            var escaped = false
            var end: Substring.Index?
            for index in body.indices.dropFirst() {
                if escaped { escaped = false; continue }
                if body[index] == "\\" { escaped = true } else if body[index] == "\"" { end = index; break }
            }
            guard let end, body[body.index(after: end)...].hasPrefix(":") else {
                throw RunnerError.io("\(file):\(line): expected \"key\": value")
            }
            let key = unquote(String(body[...end]))
            return (key, String(body[body.index(end, offsetBy: 2)...]).trimmingCharacters(in: .whitespaces))
        }
        guard let colon = body.firstIndex(of: ":") else { throw RunnerError.io("\(file):\(line): expected key: value") }
        return (String(body[..<colon]), String(body[body.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
    }
}
