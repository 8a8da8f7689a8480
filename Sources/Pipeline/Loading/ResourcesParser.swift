/// `resources:` in a declaration or a pipeline stage.
enum ResourcesParser {
    static func parse(_ node: YAMLNode, path: String, what: String, reader: YAMLReader, sink: inout DiagnosticSink) -> Resources {
        var resources = Resources()
        for (key, _, value) in reader.entries(node, path: path, what: "\(what): resources", allowed: Resources.fieldNames, sink: &sink) {
            let fieldPath = "\(path).\(key)"
            let field = "\(what): resources.\(key)"
            switch key {
            case "cpus", "gpus":
                guard let count = reader.int(value, path: fieldPath, what: field, sink: &sink) else { continue }
                let minimum: Int64 = key == "cpus" ? 1 : 0
                guard count >= minimum else {
                    sink.error(reader.location(value), fieldPath, "\(field) must be ≥ \(minimum)")
                    continue
                }
                if key == "cpus" { resources.cpus = Int(count) } else { resources.gpus = Int(count) }
            case "mem":
                guard let text = scalarText(value, path: fieldPath, what: field, reader: reader, sink: &sink) else { continue }
                if isMemory(text) { resources.mem = text } else {
                    sink.error(reader.location(value), fieldPath, "\(field): '\(text)' is not a size (write e.g. 512M, 4G)")
                }
            case "time":
                guard let text = scalarText(value, path: fieldPath, what: field, reader: reader, sink: &sink) else { continue }
                if isDuration(text) { resources.time = text } else {
                    sink.error(reader.location(value), fieldPath,
                               "\(field): '\(text)' is not a duration (write e.g. 90s, 30m, 2h, 1d or Slurm's HH:MM:SS)")
                }
            default: break
            }
        }
        return resources
    }

    /// A scalar as text (`mem: 4096` is fine as well as `mem: 4G`).
    private static func scalarText(_ node: YAMLNode, path: String, what: String, reader: YAMLReader, sink: inout DiagnosticSink) -> String? {
        reader.string(node, path: path, what: what, sink: &sink)
    }

    /// `<number>[K|M|G|T]` (megabytes without a unit, as Slurm reads it).
    static func isMemory(_ text: String) -> Bool {
        var digits = Substring(text)
        if let last = digits.last, "KMGTkmgt".contains(last) { digits = digits.dropLast() }
        if digits.hasSuffix("B") || digits.hasSuffix("b") { return false }
        return !digits.isEmpty && Double(digits) != nil && !digits.hasPrefix("-")
    }

    /// `<n>[smhd]`, or Slurm's `MM`, `MM:SS`, `HH:MM:SS`, `D-HH[:MM[:SS]]`.
    static func isDuration(_ text: String) -> Bool {
        var body = Substring(text)
        if let last = body.last, "smhd".contains(last) {
            body = body.dropLast()
            return !body.isEmpty && body.allSatisfy(\.isASCIIDigit)
        }
        let dayParts = body.split(separator: "-", omittingEmptySubsequences: false)
        guard dayParts.count <= 2, dayParts.allSatisfy({ !$0.isEmpty }) else { return false }
        if dayParts.count == 2 { guard dayParts[0].allSatisfy(\.isASCIIDigit) else { return false }; body = dayParts[1] }
        let clock = body.split(separator: ":", omittingEmptySubsequences: false)
        return (1...3).contains(clock.count) && clock.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
