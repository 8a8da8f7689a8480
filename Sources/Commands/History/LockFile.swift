import Engine
import Foundation
import Hashing
import Pipeline

/// `pipelines/<name>.lock` (and `<name>.sweep.lock` for sweeps): what the last successful run of a
/// pipeline used and produced, per stage — key, resolved params, command, dep and input digests,
/// numeric environment, output digests. Like dvc.lock: human-readable YAML, deterministic (same
/// results → same bytes; no timestamps or run ids), meant to be committed next to the pipeline.
/// `pipe reproduce --lock FILE` re-executes it and `pipe gc` keeps what it references.
public struct LockFile: Sendable, Equatable {
    /// v2 adds the closing `end: true` line, so a file cut off at a line boundary is not taken for a
    /// whole one (v1 files, which lack it, are still read).
    public static let schema = "pipe.lock.v2"
    static let legacySchemas = ["pipe.lock.v1"]
    /// The last line of every v2 lock file.
    static let endLine = "end: true"

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
        out += "# The `\(Self.endLine)` line closes it: a copy without it was cut short.\n"
        out += "schema: \(Self.schema)\n"
        out += "pipeline: \(YAMLText.key(pipeline))\n"
        out += "file: \(YAMLText.key(file))\n"
        if isSweep {
            // Variants share most stages: each distinct stage is rendered once.
            var rendered = RenderedStages(indent: "    ")
            out += "variants:\n"
            for variant in variants {
                out += "  \(YAMLText.key(variant.name)):\n"
                if !variant.overrides.isEmpty {
                    out += "    overrides:\n"
                    for (target, value) in variant.overrides { out += "      \(YAMLText.key(target)): \(value)\n" }
                }
                out += "    stages:" + (variant.stages.isEmpty ? " {}" : "") + "\n"
                for stage in variant.stages { out += rendered.text(of: stage) }
            }
        } else {
            out += Self.stagesText(variants.first?.stages ?? [], indent: "")
        }
        return out + Self.endLine + "\n"
    }

    static func stagesText(_ stages: [RecordedStage], indent: String) -> String {
        var out = indent + "stages:" + (stages.isEmpty ? " {}" : "") + "\n"
        for stage in stages { out += stageText(stage, indent: indent) }
        return out
    }

    /// One entry of a `stages:` mapping at `indent`.
    static func stageText(_ stage: RecordedStage, indent: String) -> String {
        let i1 = indent + "  ", i2 = i1 + "  ", i3 = i2 + "  "
        func map(_ name: String, _ pairs: [(String, String)]) -> String {
            guard !pairs.isEmpty else { return "\(i2)\(name): {}\n" }
            return "\(i2)\(name):\n" + pairs.map { "\(i3)\(YAMLText.key($0.0)): \($0.1)\n" }.joined()
        }
        var out = "\(i1)\(YAMLText.key(stage.name)):\n"
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
        return out
    }

    /// Stage entries rendered so far, by stage name and key (checked equal before reuse).
    private struct RenderedStages {
        let indent: String
        var entries: [String: (stage: RecordedStage, text: String)] = [:]

        mutating func text(of stage: RecordedStage) -> String {
            let id = stage.name + "\u{0}" + stage.key
            if let entry = entries[id], entry.stage == stage { return entry.text }
            let text = LockFile.stageText(stage, indent: indent)
            entries[id] = (stage, text)
            return text
        }
    }

    /// Writes atomically (temp file, fsync, rename) and only when the bytes change, so an unchanged
    /// pipeline leaves the file's mtime alone.
    public func write(to path: String) throws {
        let data = Data(text.utf8)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            // Not ours to delete: it may hold the user's files.
            throw UnusableLockFile(path: path, problem: "it is a directory, not a file")
        }
        if let existing = FileManager.default.contents(atPath: path), existing == data { return }
        let temporary = path + ".tmp~\(getpid())"
        do {
            // On disk before the rename: a crash must leave the old lock file or the whole new one.
            try data.write(to: URL(fileURLWithPath: temporary))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
            defer { try? handle.close() }
            try handle.synchronize()
        } catch {
            unlink(temporary)  // a full disk must not leave a partial temporary beside the lock file
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw RunnerError.io("cannot write \(path): \(reason)")
        }
    }

    // MARK: Reading

    /// Throws `UnusableLockFile` for a file that is there but is not a readable lock file.
    public static func read(path: String) throws -> LockFile {
        guard let data = try UnusableLockFile.contents(of: path) else {
            throw RunnerError.io("no lock file at \(path) (a successful `pipe run` writes it)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw UnusableLockFile(path: path, problem: "it is not text (garbage bytes)")
        }
        let display = Workspace.displayPath(ofFile: path)
        // A cut-off file is named as such, whatever the cut left (a valid YAML prefix, or broken YAML).
        let cutShort = UnusableLockFile(path: path, problem: "it is cut short: its last line is not `\(endLine)` "
            + "(a write or copy of it was interrupted)")
        // On bytes: as Characters, a CRLF checkout's "\r\n" is one grapheme and matches no "\n".
        let bytes = Array(data)
        let closed = ["\n" + endLine + "\n", "\n" + endLine + "\r\n"].contains { bytes.ends(with: Array($0.utf8)) }
        let root: YAMLValue
        do {
            guard let document = try YAMLValue.parse(text: text, file: display) else {
                throw UnusableLockFile(path: path, problem: "it is empty")
            }
            root = document
        } catch let error as PipelineError {
            if !closed, text.unicodeScalars.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).contains(where: { String($0) == "schema: \(schema)" }) {
                throw cutShort
            }
            let first = error.diagnostics.first
            throw UnusableLockFile(path: path, problem: "not valid YAML: " + (first?.message ?? "\(error)"), location: first?.location?.description)
        }
        func fail(_ message: String, at value: YAMLValue? = nil) -> UnusableLockFile {
            UnusableLockFile(path: path, problem: message, location: (value?.location ?? root.location)?.description)
        }
        let found = root["schema"]?.scalarText
        guard let found, found == schema || legacySchemas.contains(found) else {
            throw fail("not a \(schema) lock file (schema: \(found ?? "missing"))")
        }
        if found == schema {
            guard closed, root.mappingEntries?.last?.key == "end", root["end"]?.scalarText == "true" else { throw cutShort }
        }
        guard let pipeline = root["pipeline"]?.scalarText, let file = root["file"]?.scalarText else { throw fail("missing pipeline: or file:") }
        if let variantsNode = root["variants"] {
            var variants: [Variant] = []
            for (name, node) in try entries(variantsNode, "variants", fail) {
                let overrides = try entries(node["overrides"], "overrides", fail).map { ($0.key, flowText($0.value)) }
                variants.append(Variant(name: name, overrides: overrides, stages: try stages(node["stages"], fail)))
            }
            return LockFile(pipeline: pipeline, file: file, variants: variants, isSweep: true)
        }
        return LockFile(pipeline: pipeline, file: file,
                        variants: [Variant(name: "base", overrides: [], stages: try stages(root["stages"], fail))], isSweep: false)
    }

    private typealias Failure = (String, YAMLValue?) -> UnusableLockFile

    private static func stages(_ node: YAMLValue?, _ fail: Failure) throws -> [RecordedStage] {
        guard let node else { throw fail("missing stages:", nil) }
        return try entries(node, "stages", fail).map { name, stage in
            guard let kind = stage["kind"]?.scalarText, let key = stage["key"]?.scalarText else {
                throw fail("stage \(name): missing kind: or key:", stage)
            }
            // A cut-off file often ends inside a digest; gc must not keep less than the lock says.
            guard Digest(hex: key) != nil else { throw fail("stage \(name): key '\(key)' is not a sha256 digest", stage["key"]) }
            for (output, node) in try entries(stage["outs"], "stage \(name): outs", fail) where Digest(hex: node.scalarText ?? "") == nil {
                throw fail("stage \(name): output \(output) '\(node.scalarText ?? "")' is not a sha256 digest", node)
            }
            func pairs(_ field: String) throws -> [(String, String)] {
                try entries(stage[field], "stage \(name): \(field)", fail).map { ($0.key, $0.value.scalarText ?? "") }
            }
            return RecordedStage(
                name: name, kind: kind, version: Int(stage["version"]?.scalarText ?? "") ?? 1, key: key,
                params: try entries(stage["params"], "stage \(name): params", fail).map { ($0.key, flowText($0.value)) },
                command: stage["command"]?.scalarText, deps: try pairs("deps").map { (path: $0.0, digest: $0.1) },
                inputs: try entries(stage["inputs"], "stage \(name): inputs", fail).map {
                    RecordedStage.Input(name: $0.key, source: $0.value["from"]?.scalarText ?? "",
                                        digest: $0.value["digest"]?.scalarText ?? "")
                },
                environment: try pairs("environment").map { (name: $0.0, value: $0.1) },
                seed: UInt64(stage["seed"]?.scalarText ?? "") ?? 0,
                outputs: try pairs("outs").map { (name: $0.0, digest: $0.1) })
        }
    }

    /// A mapping's entries in file order; absent means empty.
    private static func entries(_ node: YAMLValue?, _ what: String, _ fail: Failure) throws -> [(key: String, value: YAMLValue)] {
        guard let node else { return [] }
        guard let entries = node.mappingEntries else { throw fail("\(what): expected a mapping", node) }
        return entries
    }

    /// A value as YAML flow text, the way the writer put it (`1e-05`, `"text"`, `[1, 2]`), so that
    /// `--set stage.param=TEXT` types it back to the same value.
    static func flowText(_ value: YAMLValue) -> String {
        switch value.content {
        case .scalar(let text, let plain): return plain ? text : YAMLText.quoted(text)
        case .sequence(let items): return "[" + items.map(flowText).joined(separator: ", ") + "]"
        case .mapping(let pairs):
            return "{" + pairs.map { flowText($0.key) + ": " + flowText($0.value) }.joined(separator: ", ") + "}"
        }
    }

    /// Every stage key and output digest the lock names (for gc).
    public var referencedKeys: [String] { variants.flatMap { $0.stages.map(\.key) } }
    public var referencedObjects: [String] { variants.flatMap { $0.stages.flatMap { $0.outputs.map(\.digest) } } }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix) }
}
