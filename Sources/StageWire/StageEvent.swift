/// One line of a stage's events file (JSON lines, appended by the stage process, tailed by the
/// scheduler). Command stages may append these too: the file's path is in `$PIPE_EVENTS`, e.g.
/// `echo '{"type":"progress","step":3,"total":10,"message":"epoch 3"}' >> "$PIPE_EVENTS"`
/// (README.md, "`$PIPE_EVENTS`: progress and per-step series", documents the format for users).
public struct StageEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case progress, metrics, log }

    public var type: Kind
    public var phase: String?
    public var step: Int?
    public var total: Int?
    public var message: String?
    /// Metric names and values, in the order the stage reported them.
    public var names: [String]?
    public var values: [Double]?

    public static func progress(phase: String, step: Int, total: Int?, message: String) -> StageEvent {
        StageEvent(type: .progress, phase: phase, step: step, total: total, message: message)
    }

    public static func metrics(step: Int, _ pairs: [(String, Double)]) -> StageEvent {
        StageEvent(type: .metrics, step: step, names: pairs.map(\.0), values: pairs.map(\.1))
    }

    public static func log(_ line: String) -> StageEvent {
        StageEvent(type: .log, message: line)
    }

    /// Metric pairs of a `.metrics` event (empty otherwise or when malformed).
    public var metricPairs: [(String, Double)] {
        guard let names, let values, names.count == values.count else { return [] }
        return Array(zip(names, values))
    }
}
