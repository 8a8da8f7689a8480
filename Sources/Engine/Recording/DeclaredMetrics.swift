import Foundation
import JSONQuoting
import Pipeline
import Store

/// Reads the metrics files a command stage declares (`metrics: [metrics.json]`) once its command
/// ran: nested keys are flattened to `a.b.c`, numbers become metrics, anything else is left out with
/// a note for the stage log. A missing, unreadable or malformed file fails the stage, naming it.
enum DeclaredMetrics {
    struct Reading {
        /// Sorted by name (UTF-8 byte order); a name in two files keeps the later file's value.
        var values: [(name: String, value: Double)]
        /// One line per value left out (`note: metrics.json: ignored 'tag' (string "v2", not a number)`).
        var notes: [String]
    }

    /// A metrics file is a handful of named numbers; larger files are a mistake (series go through
    /// `$PIPE_EVENTS`).
    static let maxFileBytes = 16 << 20

    /// A metrics file's tree, reduced to what matters here.
    enum Node {
        case number(Double)
        /// Not a number: what it is, for the note.
        case other(String)
        /// Members sorted by key.
        case mapping([(key: String, value: Node)])
    }

    /// Reads every declared file of `stage`; `outputPaths` maps output names to where the command
    /// wrote them. Returns the failure reason when a file is missing or malformed.
    static func read(_ stage: ResolvedStage, outputPaths: [String: String]) -> Result<Reading, DeclaredMetricsError> {
        var byName: [String: Double] = [:]
        var notes: [String] = []
        for file in stage.metricsFiles {
            guard let outputPath = outputPaths[file.output] else { continue }
            let path = outputPath + (file.pathInOutput.map { "/" + $0 } ?? "")
            switch read(file, at: path, stage: stage.name) {
            case .failure(let error): return .failure(error)
            case .success(let reading):
                for (name, value) in reading.values {
                    if byName[name] != nil { notes.append("note: metric '\(name)' is in more than one metrics file: the value from \(file.path) is kept") }
                    byName[name] = value
                }
                notes += reading.notes
            }
        }
        let values = byName.keys.sorted { $0.utf8Precedes($1) }.map { (name: $0, value: byName[$0]!) }
        return .success(Reading(values: values, notes: notes))
    }

    /// Reads one file (written at `path`).
    static func read(_ file: MetricsFile, at path: String, stage: String) -> Result<Reading, DeclaredMetricsError> {
        let what = "stage '\(stage)': metrics file '\(file.path)'"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return .failure(DeclaredMetricsError("\(what) was not written (declared in metrics:, the command must write it at \(file.commandReference))"))
        }
        if isDirectory.boolValue {
            return .failure(DeclaredMetricsError("\(what) is a directory (declare a JSON or YAML file, e.g. \(file.path)/metrics.json)"))
        }
        let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
        if size > maxFileBytes {
            return .failure(DeclaredMetricsError("\(what) is larger than 16 MiB (a metrics file holds named numbers; report per-step series through $PIPE_EVENTS)"))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(DeclaredMetricsError("\(what) cannot be read"))
        }
        let root: Node?
        switch parse(data, format: file.format, name: file.path) {
        case .failure(let problem): return .failure(DeclaredMetricsError("\(what) \(problem.description)"))
        case .success(let node): root = node
        }
        guard case .mapping(let members)? = root else {
            let found: String
            switch root {
            case .number: found = "a number"
            case .other(let kind): found = kind
            default: found = "an empty file"
            }
            return .failure(DeclaredMetricsError("\(what) must hold a mapping of metric names to numbers (e.g. {\"accuracy\": 0.91}), found \(found)"))
        }
        var values: [(name: String, value: Double)] = []
        var notes: [String] = []
        flatten(members, prefix: "", file: file.path, into: &values, notes: &notes)
        if values.isEmpty { notes.append("note: metrics file \(file.path) holds no numbers: no metrics recorded from it") }
        return .success(Reading(values: values, notes: notes))
    }

    static func flatten(_ members: [(key: String, value: Node)], prefix: String, file: String,
                        into values: inout [(name: String, value: Double)], notes: inout [String]) {
        for (key, value) in members {
            let name = prefix.isEmpty ? key : prefix + "." + key
            switch value {
            case .number(let number) where number.isFinite:
                values.append((name, number))
            case .number(let number):
                notes.append("note: \(file): ignored '\(name)' (\(number) is not a finite number)")
            case .other(let kind):
                let hint = kind == "a list" ? "; report per-step series through $PIPE_EVENTS" : ""
                notes.append("note: \(file): ignored '\(name)' (\(kind), not a number\(hint))")
            case .mapping(let nested):
                flatten(nested, prefix: name, file: file, into: &values, notes: &notes)
            }
        }
    }

    /// The file's tree; the failure is a phrase that follows "metrics file 'x' ".
    static func parse(_ data: Data, format: MetricsFile.Format, name: String) -> Result<Node?, DeclaredMetricsError> {
        switch format {
        case .json:
            if data.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
                return .failure(DeclaredMetricsError("is not valid JSON: the file is empty"))
            }
            do {
                // Python's json.dump writes a NaN loss as NaN: a note (not a number), not a failed stage.
                return .success(node(try JSONParser.parseFile([UInt8](data), allowingNonFinite: true)))
            } catch {
                return .failure(DeclaredMetricsError("is not valid JSON: \(error)"))
            }
        case .yaml:
            guard let text = String(data: data, encoding: .utf8) else {
                return .failure(DeclaredMetricsError("is not UTF-8 text"))
            }
            do {
                return .success(try YAMLValue.parse(text: text, file: name).map(node))
            } catch {
                return .failure(DeclaredMetricsError("is not valid YAML: \(error.description)"))
            }
        }
    }

    static func node(_ value: YAMLValue) -> Node {
        if let number = value.number { return .number(number) }
        if let entries = value.mappingEntries {
            var members: [String: Node] = [:]
            for (key, member) in entries { members[key] = node(member) }
            return .mapping(members.keys.sorted { $0.utf8Precedes($1) }.map { (key: $0, value: members[$0]!) })
        }
        if case .sequence = value.content { return .other("a list") }
        return .other(value.kindNoun)
    }

    /// A parsed JSON metrics file as a tree (members sorted by key, as YAML's are).
    static func node(_ value: JSONQuoting.JSONValue) -> Node {
        switch value {
        case .number(let number): return .number(number)
        case .object(let members):
            return .mapping(members.sorted { $0.key.utf8Precedes($1.key) }.map { (key: $0.key, value: node($0.value)) })
        case .array: return .other("a list")
        case .null: return .other("null")
        case .bool(let flag): return .other("bool \(flag)")
        case .string(let text): return .other("string \"\(text.prefix(40))\"")
        }
    }
}

/// Why a declared metrics file could not be read (the stage fails with this reason).
struct DeclaredMetricsError: Error, CustomStringConvertible, Equatable {
    let description: String
    init(_ description: String) { self.description = description }
}

extension DeclaredMetrics {
    /// For a stage taken from the cache whose record predates its `metrics:` declaration: the numbers
    /// of its metrics files, read from the stored outputs. Empty when the record already holds them
    /// (the usual case) or a file cannot be read.
    static func missingFromRecord(_ stage: ResolvedStage, record: StageRecord, store: ArtifactStore) -> [(step: Int, name: String, value: Double)] {
        let outputPaths = record.outputs.mapValues { store.objectPath($0) }
        guard case .success(let reading) = read(stage, outputPaths: outputPaths),
              reading.values.contains(where: { record.metrics[$0.name] != $0.value }) else { return [] }
        return reading.values.map { (step: 0, name: $0.name, value: $0.value) }
    }
}
