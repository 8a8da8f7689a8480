import Engine
import Foundation

/// Output for pipes and CI logs: one timestamped line per event, no escape codes.
/// `[12:00:01] ppo: ran in 3.2s`
public final class PlainEventLog: RunDisplay, @unchecked Sendable {
    private let output: TerminalOutput
    private let lock = NSLock()
    /// Last progress line printed per stage, to print progress at most every few seconds.
    private var lastProgress: [String: ContinuousClock.Instant] = [:]
    /// Threads per running stage as last printed (the scheduler moves cores between running stages).
    private var threads: [String: Int] = [:]
    private let progressInterval: Duration

    public init(output: TerminalOutput = TerminalOutput(), progressInterval: Duration = .seconds(5)) {
        self.output = output
        self.progressInterval = progressInterval
    }

    public func handle(_ event: RunEvent) {
        lock.lock(); defer { lock.unlock() }
        switch event {
        case .planned(let stages, let executor):
            emit("planning \(stages.count) stage\(stages.count == 1 ? "" : "s") (executor: \(executor))")
        case .cached(let stage): emit("\(stage): cached")
        case .pulled(let stage, let seconds, let bytes):
            emit("\(stage): pulled from the remote cache (\(Format.bytes(bytes)) in \(Format.seconds(seconds)))")
        case .warning(let stage, let message): emit("\(stage): warning: \(message)")
        case .queued: break
        case .waiting(let stage, let holder): emit("\(stage): waiting for \(holder), which is building the same key")
        case .started(let stage):
            lastProgress[stage] = ContinuousClock.now
        case .threads(let stage, let count):
            let plural = count == 1 ? "" : "s"
            if let before = threads[stage] {
                emit("\(stage): now on \(count) thread\(plural) (was \(before))")
            } else {
                emit("\(stage): started on \(count) thread\(plural)")
            }
            threads[stage] = count
        case .progress(let stage, let step, let total, let message):
            let now = ContinuousClock.now
            if let last = lastProgress[stage], now - last < progressInterval { return }
            lastProgress[stage] = now
            let count = total.map { "\(step)/\($0)" } ?? "\(step)"
            emit("\(stage): \(count)\(message.isEmpty ? "" : " " + message)")
        case .finished(let stage, let seconds, let reused):
            emit(reused ? "\(stage): built by another pipe process" : "\(stage): ran in \(Format.seconds(seconds))")
        case .failed(let stage, let seconds, let reason, let logTail, let rerun):
            emit("\(stage): FAILED after \(Format.seconds(seconds)): \(reason)")
            output.write(FailureReport.text(stage: stage, logTail: logTail, rerunCommand: rerun, colour: false))
        case .skipped(let stage, let because): emit("\(stage): skipped (\(because))")
        case .interrupted(let stage): emit("\(stage): interrupted")
        case .runFinished(let summary): emit(summary.line)
        }
    }

    public func close() {}

    private func emit(_ line: String) {
        output.write("[\(Self.clock())] \(line)\n")
    }

    static func clock() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        // Not String(format:): a sweep's no-op rerun prints a line per stage (1,028 at 512 variants).
        return twoDigits(parts.tm_hour) + ":" + twoDigits(parts.tm_min) + ":" + twoDigits(parts.tm_sec)
    }

    private static func twoDigits(_ value: Int32) -> String { value < 10 ? "0" + String(value) : String(value) }
}

/// The block printed under a failed stage: its log tail and how to rerun it alone.
enum FailureReport {
    static func text(stage: String, logTail: [String], rerunCommand: String, colour: Bool) -> String {
        var text = ""
        if logTail.isEmpty {
            text += "    (the stage's log is empty)\n"
        } else {
            text += "    last \(logTail.count) log line\(logTail.count == 1 ? "" : "s") of \(stage):\n"
            for line in logTail { text += "    │ " + line + "\n" }
        }
        let rerun = "    rerun (after fixing; only missing stages run): " + rerunCommand + "\n"
        text += colour ? ANSI.dim + rerun + ANSI.reset : rerun
        return text
    }
}
