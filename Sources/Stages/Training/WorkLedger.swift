import Foundation

/// `steps.log` in a key's resume directory: what every execution of the key did, including the ones
/// killed mid-way. An execution appends `start <step>` when it begins (0, or the step it resumed
/// at) and `<step>` after each step it finishes, one unbuffered `write` per line, so a kill at any
/// instant loses at most the line being written. When the key completes, the tally says how many
/// steps were run in all and how many were redone because an interruption came after the last
/// checkpoint. Log only: never in an artifact (it depends on when the kills came).
public struct WorkLedger {
    public static let fileName = "steps.log"

    /// One execution: the step it started from and the last step it finished.
    public struct Execution: Equatable, Sendable {
        public var start: Int
        public var reached: Int
        public init(start: Int, reached: Int) { self.start = start; self.reached = reached }
    }

    /// The executions' work, summed.
    public struct Tally: Equatable, Sendable {
        public var executions: Int
        /// Steps finished by all executions together.
        public var stepsRun: Int
        /// Steps finished again after an interruption (an execution that resumed before the step an
        /// earlier one had reached).
        public var redone: Int
        /// The most steps redone by one execution.
        public var mostRedoneAtOnce: Int
    }

    let path: String
    private var descriptor: Int32 = -1

    /// The ledger of the resume directory `root`.
    public init(root: String) { path = root + "/" + Self.fileName }

    /// Opens the ledger for appending and records an execution starting at `step`. A ledger that
    /// cannot be written costs only the work figures, never the training.
    public mutating func begin(at step: Int) {
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        append("start \(step)\n")
    }

    /// Records that `step` is finished.
    public func finished(step: Int) { append("\(step)\n") }

    public mutating func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    private func append(_ line: String) {
        guard descriptor >= 0 else { return }
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    /// The executions recorded so far (empty when there is no ledger).
    public func executions() -> [Execution] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return Self.parse(String(decoding: data, as: UTF8.self))
    }

    /// The executions in a ledger's text; a torn last line (a kill during its write) is left out.
    public static func parse(_ text: String) -> [Execution] {
        var executions: [Execution] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        if !text.hasSuffix("\n"), !lines.isEmpty { lines.removeLast() }
        for line in lines {
            if line.hasPrefix("start "), let start = Int(line.dropFirst(6)) {
                executions.append(Execution(start: start, reached: start))
            } else if let step = Int(line), !executions.isEmpty {
                executions[executions.count - 1].reached = max(executions[executions.count - 1].reached, step)
            }
        }
        return executions
    }

    public static func tally(_ executions: [Execution]) -> Tally {
        var furthest = 0, stepsRun = 0, redone = 0, most = 0
        for execution in executions {
            stepsRun += execution.reached - execution.start
            let again = max(0, min(execution.reached, furthest) - execution.start)
            redone += again
            most = max(most, again)
            furthest = max(furthest, execution.reached)
        }
        return Tally(executions: executions.count, stepsRun: stepsRun, redone: redone, mostRedoneAtOnce: most)
    }
}
