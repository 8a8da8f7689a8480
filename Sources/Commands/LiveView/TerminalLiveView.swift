import Engine
import Foundation

/// The live view on a terminal: one line per stage, redrawn in place ~8 times a second.
///
///     ✓ tokens   cached
///     ✓ sft      ran in 12.4s
///     ⠹ ppo      0:07  [██████░░░░░░░░░░░░░░]  31/100  kl 0.12 reward 0.8
///     · evaluate queued
///
/// Lines are cut to the terminal width so the cursor arithmetic stays right. Failure reports and
/// the summary are printed below the block, after which the block is no longer redrawn.
public final class TerminalLiveView: RunDisplay, @unchecked Sendable {
    enum State {
        case waiting
        case cached
        case queued
        case lockedBy(String)
        case running(since: ContinuousClock.Instant, step: Int?, total: Int?, message: String)
        case done(seconds: Double, reused: Bool)
        case pulled(seconds: Double, bytes: Int64)
        case failed(seconds: Double, reason: String)
        case skipped(String)
        case interrupted
    }

    private let output: TerminalOutput
    private let lock = NSLock()
    private var order: [String] = []
    private var states: [String: State] = [:]
    /// Threads each started stage was given.
    private var threads: [String: Int] = [:]
    private var executor = "local"
    private var drawnLines = 0
    private var frame = 0
    private var finished = false
    private var ticker: Thread?
    private static let spinner = Array("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

    public init(output: TerminalOutput = TerminalOutput()) {
        self.output = output
    }

    public func handle(_ event: RunEvent) {
        lock.lock(); defer { lock.unlock() }
        switch event {
        case .planned(let stages, let executor):
            order = stages
            self.executor = executor
            for stage in stages { states[stage] = .waiting }
            output.write(ANSI.hideCursor)
            startTicker()
        case .cached(let stage): states[stage] = .cached
        case .pulled(let stage, let seconds, let bytes): states[stage] = .pulled(seconds: seconds, bytes: bytes)
        case .warning(let stage, let message):
            eraseBlock()
            output.write(ANSI.yellow + "! \(stage): " + ANSI.reset + message + "\n")
        case .queued(let stage): states[stage] = .queued
        case .waiting(let stage, let holder): states[stage] = .lockedBy(holder)
        case .started(let stage): states[stage] = .running(since: .now, step: nil, total: nil, message: "")
        case .threads(let stage, let count): threads[stage] = count
        case .progress(let stage, let step, let total, let message):
            if case .running(let since, _, _, _) = states[stage] {
                states[stage] = .running(since: since, step: step, total: total, message: message)
            }
        case .finished(let stage, let seconds, let reused): states[stage] = .done(seconds: seconds, reused: reused)
        case .failed(let stage, let seconds, let reason, let logTail, let rerun):
            states[stage] = .failed(seconds: seconds, reason: reason)
            // Print the report above the block: erase the block, print, redraw below.
            eraseBlock()
            output.write(ANSI.red + ANSI.bold + "✗ \(stage) failed: " + ANSI.reset + reason + "\n"
                         + FailureReport.text(stage: stage, logTail: logTail, rerunCommand: rerun, colour: true))
        case .skipped(let stage, let because): states[stage] = .skipped(because)
        case .interrupted(let stage): states[stage] = .interrupted
        case .runFinished(let summary):
            draw()
            finished = true
            let colour = summary.interrupted || summary.failed > 0 ? ANSI.red : ANSI.green
            output.write(colour + summary.line + ANSI.reset + "\n")
            return
        }
        draw()
    }

    public func close() {
        lock.lock()
        finished = true
        lock.unlock()
        output.write(ANSI.showCursor)
    }

    private func startTicker() {
        guard ticker == nil else { return }
        let thread = Thread { [weak self] in
            while let self, self.tick() { usleep(125_000) }
        }
        thread.name = "pipe.liveview"
        ticker = thread
        thread.start()
    }

    /// Redraws for the spinner and elapsed times; false once the run is over.
    private func tick() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if finished { return false }
        frame += 1
        draw()
        return true
    }

    private func eraseBlock() {
        guard drawnLines > 0 else { return }
        var text = ANSI.up(drawnLines)
        for _ in 0..<drawnLines { text += ANSI.clearLine + "\n" }
        text += ANSI.up(drawnLines)
        output.write(text)
        drawnLines = 0
    }

    private func draw() {
        guard !finished, !order.isEmpty else { return }
        let width = max(20, output.width - 1)
        let nameWidth = min(24, order.map(\.count).max() ?? 8)
        var text = ANSI.up(drawnLines)
        for stage in order {
            text += ANSI.clearLine + line(stage, state: states[stage] ?? .waiting, nameWidth: nameWidth, width: width) + "\n"
        }
        drawnLines = order.count
        output.write(text)
    }

    private func line(_ stage: String, state: State, nameWidth: Int, width: Int) -> String {
        let name = stage.count > nameWidth ? String(stage.prefix(nameWidth - 1)) + "…" : stage.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
        let (symbol, colour, detail): (String, String, String)
        switch state {
        case .waiting: (symbol, colour, detail) = ("·", ANSI.dim, "waiting for inputs")
        case .cached: (symbol, colour, detail) = ("✓", ANSI.dim, "cached")
        case .queued: (symbol, colour, detail) = ("·", ANSI.dim, "queued")
        case .lockedBy(let holder): (symbol, colour, detail) = ("…", ANSI.yellow, "waiting for \(holder) (building the same key)")
        case .running(let since, let step, let total, let message):
            let elapsed = Self.clock(ContinuousClock.now - since)
            var parts = [elapsed]
            if let count = threads[stage] { parts.append("\(count) thr") }
            if let step, let total, total > 0 {
                parts.append(Self.bar(Double(step) / Double(total), width: 20))
                parts.append("\(step)/\(total)")
            } else if let step {
                parts.append("step \(step)")
            }
            if !message.isEmpty { parts.append(message) }
            (symbol, colour, detail) = (String(Self.spinner[frame % Self.spinner.count]), ANSI.cyan, parts.joined(separator: "  "))
        case .done(let seconds, let reused):
            (symbol, colour, detail) = ("✓", ANSI.green, reused ? "built by another pipe process" : "ran in \(Format.seconds(seconds))")
        case .pulled(let seconds, let bytes):
            (symbol, colour, detail) = ("✓", ANSI.cyan, "pulled \(Format.bytes(bytes)) from the remote in \(Format.seconds(seconds))")
        case .failed(let seconds, let reason): (symbol, colour, detail) = ("✗", ANSI.red, "failed after \(Format.seconds(seconds)): \(reason)")
        case .skipped(let because): (symbol, colour, detail) = ("-", ANSI.yellow, "skipped (\(because))")
        case .interrupted: (symbol, colour, detail) = ("!", ANSI.yellow, "interrupted")
        }
        var plain = "\(symbol) \(name) \(detail)"
        if plain.count > width { plain = String(plain.prefix(width - 1)) + "…" }
        return colour + plain + ANSI.reset
    }

    static func bar(_ fraction: Double, width: Int) -> String {
        let filled = Int((min(1, max(0, fraction)) * Double(width)).rounded(.down))
        return "[" + String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled) + "]"
    }

    static func clock(_ duration: Duration) -> String {
        let total = Int(duration.components.seconds)
        return String(format: "%d:%02d", total / 60, total % 60)
    }
}
