@testable import Commands
import Engine
import Foundation
import Testing

/// Renders displays into a pipe and checks what a user would see.
@Suite("Live view and plain log")
struct DisplayTests {
    /// Runs `body` with an output writing into a pipe and returns everything written.
    func capture(_ body: (TerminalOutput) -> Void) -> String {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        body(TerminalOutput(fd: fds[1]))
        close(fds[1])
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fds[0], &buffer, buffer.count)
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        close(fds[0])
        return String(decoding: data, as: UTF8.self)
    }

    static func stripANSI(_ text: String) -> String {
        text.replacingOccurrences(of: "\u{1B}\\[[0-9;?]*[A-Za-z]", with: "", options: .regularExpression)
    }

    @Test func plainLogPrintsOneTimestampedLinePerEventAndTheFailureReport() {
        let text = capture { output in
            let log = PlainEventLog(output: output)
            log.handle(.planned(stages: ["sft", "ppo"], executor: "local"))
            log.handle(.cached(stage: "sft"))
            log.handle(.started(stage: "ppo"))
            log.handle(.failed(stage: "ppo", seconds: 3.2, reason: "exited with status 3", logTail: ["step 1", "boom"],
                               rerunCommand: "pipe run p.yaml"))
            log.handle(.runFinished(RunSummary(runID: "r", ran: 0, cached: 1, failed: 1, skipped: 0, interrupted: false, seconds: 3.3)))
        }
        #expect(!text.contains("\u{1B}"), "no escape codes when piped")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[1].hasSuffix("] sft: cached"))
        #expect(lines[1].range(of: #"^\[\d\d:\d\d:\d\d\] "#, options: .regularExpression) != nil)
        #expect(text.contains("ppo: FAILED after 3.2s: exited with status 3"))
        #expect(text.contains("    │ boom"))
        #expect(text.contains("pipe run p.yaml"))
        #expect(lines.last?.hasSuffix("run r failed: 0 ran, 1 cached, 1 failed in 3.3s") == true)
    }

    @Test func plainLogSaysWhenARunningStageGetsMoreOrFewerThreads() {
        let text = capture { output in
            let log = PlainEventLog(output: output)
            log.handle(.started(stage: "sft"))
            log.handle(.threads(stage: "sft", count: 1))
            log.handle(.threads(stage: "sft", count: 2))
            log.handle(.threads(stage: "judge", count: 1))
        }
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasSuffix("] sft: started on 1 thread"))
        #expect(lines[1].hasSuffix("] sft: now on 2 threads (was 1)"))
        #expect(lines[2].hasSuffix("] judge: started on 1 thread"))
    }

    @Test func liveViewRedrawsOneLinePerStageInPlace() {
        let text = capture { output in
            let view = TerminalLiveView(output: output)
            view.handle(.planned(stages: ["tokens", "ppo"], executor: "local"))
            view.handle(.cached(stage: "tokens"))
            view.handle(.started(stage: "ppo"))
            view.handle(.progress(stage: "ppo", step: 5, total: 10, message: "kl 0.12"))
            view.handle(.finished(stage: "ppo", seconds: 1.5, reused: false))
            view.handle(.runFinished(RunSummary(runID: "r", ran: 1, cached: 1, failed: 0, skipped: 0, interrupted: false, seconds: 1.6)))
            view.close()
        }
        #expect(text.contains("\u{1B}[2A"), "moves the cursor up over the two stage lines to redraw them")
        let plain = Self.stripANSI(text)
        #expect(plain.contains("✓ tokens cached"))
        #expect(plain.contains("ppo    0:00  [██████████░░░░░░░░░░]  5/10  kl 0.12"))
        #expect(plain.contains("✓ ppo    ran in 1.5s"))
        #expect(plain.hasSuffix("run r ok: 1 ran, 1 cached in 1.6s\n"))
    }
}
