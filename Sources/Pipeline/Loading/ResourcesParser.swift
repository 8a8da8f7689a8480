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
                switch memoryKiB(text) {
                case let kib? where kib < maxMemoryKiB: resources.mem = text
                case _?: sink.error(reader.location(value), fieldPath, "\(field): '\(text)' is too large (at most 2^53 KiB)")
                case nil: sink.error(reader.location(value), fieldPath, "\(field): '\(text)' is not a size (write e.g. 512M, 4G)")
                }
            case "time":
                guard let text = scalarText(value, path: fieldPath, what: field, reader: reader, sink: &sink) else { continue }
                if !isDuration(text) {
                    sink.error(reader.location(value), fieldPath,
                               "\(field): '\(text)' is not a duration (write e.g. 90s, 30m, 2h, 1d or Slurm's HH:MM:SS)")
                } else if unitDurationOverflows(text) {
                    sink.error(reader.location(value), fieldPath, "\(field): '\(text)' is too long (at most 2^63 seconds)")
                } else {
                    resources.time = text
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

    /// The largest `mem` in KiB: the Slurm executor converts a size to whole units of K, M, G or T
    /// through an Int, which every size below this fits.
    static let maxMemoryKiB = 0x1p53

    /// `<number>[K|M|G|T]` (megabytes without a unit, as Slurm reads it) in KiB; nil when it is not a
    /// size (`inf` and `nan` are not).
    static func memoryKiB(_ text: String) -> Double? {
        var digits = Substring(text)
        var kibPerUnit = 1024.0
        if let last = digits.last, let scale = kibPerUnitSuffix[last] {
            kibPerUnit = scale
            digits = digits.dropLast()
        }
        if digits.hasSuffix("B") || digits.hasSuffix("b") || digits.isEmpty || digits.hasPrefix("-") { return nil }
        guard let value = Double(digits), value.isFinite else { return nil }
        return value * kibPerUnit
    }

    private static let kibPerUnitSuffix: [Character: Double] = ["K": 1, "k": 1, "M": 0x1p10, "m": 0x1p10, "G": 0x1p20, "g": 0x1p20,
                                                                "T": 0x1p30, "t": 0x1p30]

    /// A `mem` the loader accepts.
    static func isMemory(_ text: String) -> Bool { memoryKiB(text).map { $0 < maxMemoryKiB } ?? false }

    /// Whether `<n>[smhd]` is more seconds than an Int holds (the Slurm executor converts it to HH:MM:SS).
    static func unitDurationOverflows(_ text: String) -> Bool {
        guard let unit = text.last, let seconds = ["s": 1, "m": 60, "h": 3600, "d": 86400][String(unit)] else { return false }
        guard let count = Int(text.dropLast()) else { return true }
        return count.multipliedReportingOverflow(by: seconds).overflow
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
