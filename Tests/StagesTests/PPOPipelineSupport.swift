import Foundation
import PipeTestSupport
import Stages

/// Runs built-in stages in-process, in pipeline order, with the defaults of their `stages/<kind>.yaml`
/// (read by a small parser for the declarations' one-line `name: { type: T, default: V, ... }` form)
/// overridden per stage. Stands in for the runner in tests and the real-data driver.
final class StageChain {
    let root: String
    let seed: UInt64
    let threads: Int
    private(set) var outputs: [String: String] = [:]   // "stage.output" → path
    private(set) var contexts: [String: DirectoryStageContext] = [:]

    /// Reuse a stage's earlier outputs under `root` when they completed (a `.done` marker), for tuning
    /// later stages without retraining earlier ones.
    let reuse: Bool

    init(root: String, seed: UInt64 = 42, threads: Int = 1, reuse: Bool = false) {
        self.root = root; self.seed = seed; self.threads = threads; self.reuse = reuse
    }

    static var repositoryRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// Declared param defaults of a stage kind.
    static func defaults(kind: String) throws -> [String: StageParamValue] {
        let path = repositoryRoot + "/stages/" + kind + ".yaml"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw StageError.failed("cannot read \(path)") }
        var params: [String: StageParamValue] = [:]
        var inParams = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("params:") { inParams = true; continue }
            if inParams, let first = line.first, first != " " { inParams = false }
            guard inParams else { continue }
            let trimmed = line.drop { $0 == " " }
            guard let colon = trimmed.firstIndex(of: ":") else { continue }
            let name = String(trimmed[..<colon])
            let rest = String(trimmed[trimmed.index(after: colon)...])
            guard let typeRange = rest.range(of: "type:"), let defRange = rest.range(of: "default:") else { continue }
            let type = rest[typeRange.upperBound...].drop { $0 == " " }.prefix { $0.isLetter }
            let value = rest[defRange.upperBound...].drop { $0 == " " }
            params[name] = try parse(String(type), value, kind: kind, name: name)
        }
        return params
    }

    private static func scalarText(_ s: Substring) -> String {
        if s.first == "\"" { return String(s.dropFirst().prefix { $0 != "\"" }) }
        return String(s.prefix { $0 != "," && $0 != "}" && $0 != "]" }).trimmingCharacters(in: .whitespaces)
    }

    private static func parse(_ type: String, _ value: Substring, kind: String, name: String) throws -> StageParamValue {
        switch type {
        case "int": return .int(Int64(scalarText(value))!)
        case "float": return .float(Double(scalarText(value))!)
        case "bool": return .bool(scalarText(value) == "true")
        case "string": return .string(scalarText(value))
        case "list":
            var items: [StageParamValue] = []
            var rest = value.dropFirst()   // "["
            while let q = rest.firstIndex(of: "\""), rest[..<q].allSatisfy({ $0 == " " || $0 == "," }) {
                let body = rest[rest.index(after: q)...]
                let end = body.firstIndex(of: "\"")!
                items.append(.string(String(body[..<end])))
                rest = body[body.index(after: end)...]
            }
            return .list(items)
        default: throw StageError.failed("stages/\(kind).yaml: param \(name) has unknown type \(type)")
        }
    }

    /// Runs one stage. `inputs` maps input names to "stage.output" references or absolute paths.
    @discardableResult
    func run(_ name: String, _ stage: any BuiltinStage.Type, inputs: [String: String], outputs: [String],
             with overrides: [String: StageParamValue] = [:]) throws -> DirectoryStageContext {
        var params = try Self.defaults(kind: stage.kind)
        for (k, v) in overrides {
            guard params[k] != nil else { throw StageError.badParam(k, "not declared in stages/\(stage.kind).yaml") }
            params[k] = v
        }
        let resolved = try inputs.mapValues { ref -> String in
            if ref.hasPrefix("/") { return ref }
            guard let path = outputs_(ref) else { throw StageError.failed("\(name): unknown input reference \(ref)") }
            return path
        }
        let marker = root + "/" + name + "/.done"
        let finished = reuse && FileManager.default.fileExists(atPath: marker)
        let context = try DirectoryStageContext(kind: stage.kind, params: params, inputs: resolved, outputs: outputs,
                                                root: root + "/" + name, seed: seed, threads: threads)
        let start = Date()
        if !finished {
            try stage.run(context)
            _ = FileManager.default.createFile(atPath: marker, contents: Data())
        }
        for o in outputs { self.outputs[name + "." + o] = try context.outputPath(o) }
        contexts[name] = context
        if ProcessInfo.processInfo.environment["PIPE_CHAIN_VERBOSE"] != nil {
            print("== \(name) (\(stage.kind)) \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            for line in context.logLines { print("   " + line) }
        }
        return context
    }

    private func outputs_(_ ref: String) -> String? { outputs[ref] }
}
