import Engine
import Foundation
import Hashing
import Store

/// What a report shows from a run's stage outputs: evaluation tables (`metrics.json`, or an output
/// named `metrics` holding a JSON object), samples (`samples.jsonl`, or an output named `samples`)
/// and TensorBoard event files, found by looking inside the objects the run produced.
struct ReportArtifacts {
    struct Table {
        var stage: String
        var source: String
        /// Flattened `a.b.c` → value text, in the file's order.
        var rows: [(key: String, value: String)]
    }

    struct Samples {
        var stage: String
        var source: String
        var columns: [String]
        var rows: [[String]]
        var total: Int
    }

    var evaluations: [Table] = []
    var samples: [Samples] = []
    /// Each metrics.json's decodings (evaluate's `decodings`), in the order of `evaluations`.
    var decodings: [DecodingsFile] = []
    /// (stage, path of the directory holding event files).
    var eventDirectories: [(stage: String, path: String)] = []

    static let maxSampleRows = 50
    static let maxFileBytes = 8 << 20

    static func collect(_ details: RunDetails, store: ArtifactStore) -> ReportArtifacts {
        var result = ReportArtifacts()
        for execution in details.stages {
            for name in execution.outputs.keys.sorted(by: { $0.utf8Precedes($1) }) {
                let digest = execution.outputs[name]!
                guard store.hasObject(digest) else { continue }
                let root = store.objectPath(digest)
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory)
                if isDirectory.boolValue {
                    for relative in files(under: root, depth: 3) {
                        let file = (relative as NSString).lastPathComponent
                        let path = root + "/" + relative
                        let source = "\(execution.stage).\(name)/\(relative)"
                        if file == "metrics.json", result.addEvaluation(path, stage: execution.stage, source: source) {
                        } else if file == "samples.jsonl", let samples = samples(path, stage: execution.stage, source: source) {
                            result.samples.append(samples)
                        } else if file.hasPrefix("events.out.tfevents.") {
                            let directory = (path as NSString).deletingLastPathComponent
                            if !result.eventDirectories.contains(where: { $0.path == directory }) {
                                result.eventDirectories.append((execution.stage, directory))
                            }
                        }
                    }
                } else if name.contains("metrics"), result.addEvaluation(root, stage: execution.stage, source: "\(execution.stage).\(name)") {
                } else if name.contains("samples"), let samples = samples(root, stage: execution.stage, source: "\(execution.stage).\(name)") {
                    result.samples.append(samples)
                }
            }
        }
        return result
    }

    /// Adds an evaluation file's table and its decodings; false when it is not a readable JSON object.
    mutating func addEvaluation(_ path: String, stage: String, source: String) -> Bool {
        guard let table = Self.table(path, stage: stage, source: source) else { return false }
        evaluations.append(table)
        if let file = DecodingsFile.read(path, stage: stage, source: source) { decodings.append(file) }
        return true
    }

    /// Relative paths of regular files, sorted, at most `depth` levels down.
    static func files(under root: String, depth: Int) -> [String] {
        var result: [String] = []
        func walk(_ relative: String, _ level: Int) {
            let path = relative.isEmpty ? root : root + "/" + relative
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
            for name in names.sorted() {
                let child = relative.isEmpty ? name : relative + "/" + name
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: root + "/" + child, isDirectory: &isDirectory)
                if isDirectory.boolValue { if level < depth { walk(child, level + 1) } } else { result.append(child) }
            }
        }
        walk("", 1)
        return result
    }

    static func read(_ path: String) -> Data? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? NSNumber, size.intValue <= maxFileBytes else { return nil }
        return FileManager.default.contents(atPath: path)
    }

    static func table(_ path: String, stage: String, source: String) -> Table? {
        guard let data = read(path), let value = try? JSONDecoder().decode(JSONValue.self, from: data),
              case .object = value else { return nil }
        var rows: [(key: String, value: String)] = []
        flatten(value, prefix: "", into: &rows)
        return rows.isEmpty ? nil : Table(stage: stage, source: source, rows: rows)
    }

    static func flatten(_ value: JSONValue, prefix: String, into rows: inout [(key: String, value: String)]) {
        switch value {
        case .object(let members):
            for key in members.keys.sorted(by: { $0.utf8Precedes($1) }) {
                flatten(members[key]!, prefix: prefix.isEmpty ? key : prefix + "." + key, into: &rows)
            }
        default:
            rows.append((prefix, text(value)))
        }
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return s
        case .double(let d): return MetricFormat.value(d)
        case .int(let i): return String(i)
        default: return value.description
        }
    }

    static func samples(_ path: String, stage: String, source: String) -> Samples? {
        guard let data = read(path) else { return nil }
        var columns: [String] = []
        var objects: [[String: JSONValue]] = []
        var total = 0
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            total += 1
            guard objects.count < maxSampleRows else { continue }
            guard case .object(let members)? = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)) else {
                objects.append(["(line)": .string(String(line))])
                if !columns.contains("(line)") { columns.append("(line)") }
                continue
            }
            // Column order: first-seen, each object's keys sorted (JSON objects have no order here).
            for key in members.keys.sorted(by: { $0.utf8Precedes($1) }) where !columns.contains(key) { columns.append(key) }
            objects.append(members)
        }
        guard total > 0 else { return nil }
        let preferred = ["prompt", "query", "response", "completion", "text", "reward", "score"]
        let seen = columns
        columns = seen.sorted { a, b in
            let ia = preferred.firstIndex(of: a) ?? preferred.count, ib = preferred.firstIndex(of: b) ?? preferred.count
            return ia != ib ? ia < ib : seen.firstIndex(of: a)! < seen.firstIndex(of: b)!
        }
        let rows = objects.map { object in columns.map { object[$0].map(text) ?? "" } }
        return Samples(stage: stage, source: source, columns: columns, rows: rows, total: total)
    }
}
