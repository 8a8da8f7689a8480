/// A metrics file a command stage declares (`metrics: [metrics.json]`): a JSON or YAML file that is
/// one of the stage's outputs, or lies inside an output directory. The runner reads it after the
/// command ran and records its numbers like a built-in stage's metrics.
public struct MetricsFile: Sendable, Codable, Hashable {
    public enum Format: String, Sendable, Codable, Hashable { case json, yaml }

    /// As declared, normalised (`metrics.json`, `results/scores.yaml`).
    public var path: String
    /// The output that holds it.
    public var output: String
    /// The path inside that output's directory; nil when the output is the file itself.
    public var pathInOutput: String?
    public var format: Format

    /// How the command names the file: `${outs.metrics.json}`, or `${outs.results}/scores.yaml`.
    public var commandReference: String {
        "${outs.\(output)}" + (pathInOutput.map { "/" + $0 } ?? "")
    }

    /// Locates `path` among `outputs`: the output itself, or a file inside the longest output that is
    /// a directory prefix of it. nil when no output holds it.
    static func locate(_ path: String, outputs: [String], format: Format) -> MetricsFile? {
        if outputs.contains(path) { return MetricsFile(path: path, output: path, pathInOutput: nil, format: format) }
        let holders = outputs.filter { path.hasPrefix($0 + "/") }
        guard let holder = holders.max(by: { $0.count < $1.count }) else { return nil }
        return MetricsFile(path: path, output: holder, pathInOutput: String(path.dropFirst(holder.count + 1)), format: format)
    }

    /// The format of a declared path, or why it cannot be a metrics file.
    static func check(_ path: String) -> Result<(normalised: String, format: Format), ProblemText> {
        if path.isEmpty { return .failure(ProblemText("is empty")) }
        if path.hasPrefix("/") || path.hasPrefix("~") {
            return .failure(ProblemText("must be a path among the stage's outputs (e.g. metrics.json), not an absolute path"))
        }
        let normalised = PathName.normalise(path)
        if normalised == "." || normalised == ".." || normalised.hasPrefix("../") {
            return .failure(ProblemText("must name a file among the stage's outputs (e.g. metrics.json)"))
        }
        let lower = normalised.lowercased()
        if lower.hasSuffix(".json") { return .success((normalised, .json)) }
        if lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") { return .success((normalised, .yaml)) }
        return .failure(ProblemText("must be a .json, .yaml or .yml file"))
    }

    /// A problem phrase for a diagnostic (Result needs an Error type).
    struct ProblemText: Error {
        let text: String
        init(_ text: String) { self.text = text }
    }
}
