import Foundation
import Testing
@testable import Stages

/// Runs `python3 -c pass`; true when it works.
let python3Available: Bool = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import json, http.server"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

/// The `command` reward source against real child processes: a Python scorer speaking JSON lines, and
/// shell scorers that crash, hang, answer malformed JSON, the wrong count or NaN, or print stray output.
@Suite(.serialized) struct CommandRewardSourceTests {
    /// A deterministic scorer: reward = number of "好" in the completion + the row's `bonus` column
    /// (0 without one); it logs each batch size on stderr and exits on end of input.
    static let pythonScorer = """
    import json, sys
    print("scorer ready", file=sys.stderr, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        bonus = request["columns"].get("bonus", [0] * len(request["completions"]))
        rewards = [c.count("好") + b for c, b in zip(request["completions"], bonus)]
        print(f"scored {len(rewards)}", file=sys.stderr, flush=True)
        print(json.dumps({"rewards": rewards}), flush=True)
    """

    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var _lines: [String] = []
        var lines: [String] { lock.lock(); defer { lock.unlock() }; return _lines }
        func append(_ line: String) { lock.lock(); _lines.append(line); lock.unlock() }
    }

    func source(_ command: String, scorer: String? = nil, timeout: Double = 10, log: Log = Log()) throws -> (CommandRewardSource, String) {
        let directory = try TestDirectory.make("command-scorer")
        return (try CommandRewardSource(command: command, scorer: scorer, directory: directory, timeout: timeout, log: log.append), directory)
    }

    static let request = RewardRequest(prompts: ["这部电影很", "说实话"], completions: ["好好看", "不好"])

    func failure(_ command: String, timeout: Double = 10, log: Log = Log()) throws -> String {
        let (s, dir) = try source(command, timeout: timeout, log: log)
        defer { s.close(); try? FileManager.default.removeItem(atPath: dir) }
        do { _ = try s.score(Self.request); return "no error" } catch { return "\(error)" }
    }

    @Test(.enabled(if: python3Available, "needs python3 on the PATH"))
    func pythonScorerAnswersEveryBatchAndItsStderrReachesTheLog() throws {
        let scorerDir = try TestDirectory.make("scorer files with 'quote")
        defer { try? FileManager.default.removeItem(atPath: scorerDir) }
        try Self.pythonScorer.write(toFile: scorerDir + "/score.py", atomically: true, encoding: .utf8)
        let log = Log()
        let (s, dir) = try source("python3 ${inputs.scorer}/score.py && echo \"$PIPE_SCORER\" >&2", scorer: scorerDir, log: log)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try s.score(Self.request) == [2, 1])
        var columns = Self.request
        columns.columns = ["bonus": [.number(10), .number(-1)]]
        #expect(try s.score(columns) == [12, 0])
        #expect(try s.score(prompts: [], completions: []) == [])
        s.close()
        #expect(log.lines.contains("reward command stderr: scorer ready"), "\(log.lines)")
        #expect(log.lines.filter { $0 == "reward command stderr: scored 2" }.count == 2, "\(log.lines)")
        #expect(log.lines.contains("reward command stderr: " + scorerDir), "PIPE_SCORER is set: \(log.lines)")
    }

    @Test func crashIsReportedWithItsLastStderrLines() throws {
        let message = try failure("read line; for i in $(seq 1 30); do echo \"loading $i\" >&2; done; echo 'ValueError: bad input' >&2; exit 3")
        #expect(message.contains("reward command `read line;"), "\(message)")
        #expect(message.contains("closed its stdout without answering; exited with status 3"), "\(message)")
        #expect(message.contains("last 20 stderr lines of the command:"), "\(message)")
        #expect(message.contains("  | ValueError: bad input") && message.contains("  | loading 30") && !message.contains("  | loading 10\n"), "\(message)")
    }

    @Test func commandThatCannotStartFailsOnTheFirstBatch() throws {
        let message = try failure("no-such-scorer-program --serve")
        #expect(message.contains("exited with status 127"), "\(message)")
        #expect(message.contains("not found"), "the shell's own message is kept: \(message)")
    }

    @Test func hangPastTheTimeoutIsKilledWithItsWholeGroup() throws {
        let dir = try TestDirectory.make("hang")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let started = Date()
        let message = try failure("read line; echo 'thinking hard' >&2; sleep 30 & echo $! > \(dir)/sleeper; wait", timeout: 0.5)
        let elapsed = Date().timeIntervalSince(started)
        #expect(message.contains("no answer within the timeout of 0.5 s (reward_timeout); killed it"), "\(message)")
        #expect(message.contains("  | thinking hard"), "\(message)")
        #expect(elapsed < 5, "took \(elapsed) s")
        // The grandchild (sleep) went with the group.
        let sleeper = try #require(Int32(try String(contentsOfFile: dir + "/sleeper", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        var gone = false
        for _ in 0..<100 {
            let state = (try? String(contentsOfFile: "/proc/\(sleeper)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
            if kill(sleeper, 0) != 0 || state == "Z" { gone = true; break }
            usleep(20_000)
        }
        #expect(gone, "sleep \(sleeper) still runs")
    }

    @Test func malformedWrongCountNaNAndStrayOutputAreClearErrors() throws {
        let malformed = try failure("while read l; do echo 'oops, not json' >&2; echo '{\"rewards\": [1, 2'; done")
        #expect(malformed.contains("reward source 'command' answered malformed JSON") && malformed.contains("'{\"rewards\": [1, 2'"), "\(malformed)")
        #expect(malformed.contains("  | oops, not json"), "\(malformed)")
        let count = try failure("while read l; do echo '{\"rewards\": [1]}'; done")
        #expect(count.contains("reward source 'command' gave 1 rewards for 2 completions"), "\(count)")
        #expect(count.contains("(the command wrote nothing to stderr)"), "\(count)")
        let nan = try failure("while read l; do echo '{\"rewards\": [1, NaN]}'; done")
        #expect(nan.contains("gave a non-finite reward (nan) for completion 1"), "\(nan)")
        let two = try failure("while read l; do echo '{\"rewards\": [1, 2]}'; echo '{\"rewards\": [1, 2]}'; done")
        #expect(two == "no error", "one batch is fine; the extra line is caught on the next")
        let (s, dir) = try source("while read l; do echo '{\"rewards\": [1, 2]}'; echo 'debug print'; done")
        defer { s.close(); try? FileManager.default.removeItem(atPath: dir) }
        #expect(try s.score(Self.request) == [1, 2])
        usleep(200_000)
        do {
            _ = try s.score(Self.request)
            Issue.record("stray stdout accepted")
        } catch {
            #expect("\(error)".contains("wrote to stdout between requests ('debug print"), "\(error)")
            #expect("\(error)".contains("print diagnostics to stderr"), "\(error)")
        }
        // A dead scorer stays dead: later batches fail at once.
        #expect(throws: StageError.self) { try s.score(Self.request) }
    }

    @Test func closeEndsTheScorerThroughItsStdin() throws {
        let dir = try TestDirectory.make("close")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = Log()
        let (s, scratch) = try source("while read l; do echo '{\"rewards\": [0, 0]}'; done; printf 'step 1\\rstep 2\\r\\n' >&2; echo bye >&2", log: log)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = try s.score(Self.request)
        let started = Date()
        s.close()
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(Array(log.lines.suffix(3)) == ["reward command stderr: step 1", "reward command stderr: step 2", "reward command stderr: bye"],
                "carriage returns end lines, empty ones are dropped: \(log.lines)")
        s.close() // idempotent
    }

    /// A scorer whose answer drifts from call to call is asked twice on the first batch and flagged.
    /// The scorer runs in the group of a watchdog started before it (the guard stage processes use),
    /// so it cannot outlive its stage; closing the scorer stops and reaps the watchdog too.
    @Test func scorerRunsInItsWatchdogsGroup() throws {
        let directory = try TestDirectory.make("scorer-group")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = try ScorerProcess(command: "cat", directory: directory, environment: ["PATH=/usr/bin:/bin"], log: { _ in })
        let watchdog = process.watchdog.pid
        #expect(watchdog != process.pid)
        #expect(getpgid(process.pid) == watchdog)
        #expect(try process.exchange("ping", timeout: 10) == "ping")
        #expect(process.close() == "exited with status 0")
        #expect(kill(watchdog, 0) != 0 && errno == ESRCH, "the watchdog is stopped and reaped")
    }

    @Test func driftingScorerIsFlaggedOnTheFirstBatch() throws {
        let log = Log()
        let (s, dir) = try source("i=0; while read l; do i=$((i+1)); echo \"{\\\"rewards\\\": [$i, 1]}\"; done", log: log)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scorer = RewardScorer(sources: try WeightedRewardSource([.init(weight: 1, source: s)]), decode: { _ in "" }, log: log.append)
        defer { scorer.close() }
        let first = try scorer.score(Self.request)
        #expect(first.rewards == [1, 1])
        #expect(first.metrics.count == 1 && first.metrics[0] == ("rewards/command/nondeterministic", 1))
        #expect(log.lines.contains { $0.contains("warning: reward source 'command' gave different rewards for the same batch asked twice (1 of 2 rows differ, by up to 1.0)") },
                "\(log.lines)")
        #expect(try scorer.score(Self.request).rewards == [3, 1], "asked twice on the first batch only")
    }

    /// Round-trip overhead of one batch of 64 (prompt, completion) rows through a Python scorer that
    /// answers zeros: the price of the JSON-lines interface itself.
    @Test(.enabled(if: python3Available, "needs python3 on the PATH"))
    func roundTripOverheadPerBatch() throws {
        let scorerDir = try TestDirectory.make("overhead")
        defer { try? FileManager.default.removeItem(atPath: scorerDir) }
        try """
        import json, sys
        for line in sys.stdin:
            n = len(json.loads(line)["completions"])
            print(json.dumps({"rewards": [0.0] * n}), flush=True)
        """.write(toFile: scorerDir + "/zeros.py", atomically: true, encoding: .utf8)
        let (s, dir) = try source("exec python3 ${inputs.scorer}/zeros.py", scorer: scorerDir)
        defer { s.close(); try? FileManager.default.removeItem(atPath: dir) }
        let request = RewardRequest(prompts: Array(repeating: "这次购物总的来说体验很", count: 64),
                                    completions: Array(repeating: "好，质量不错，物流也快，下次还会再来。", count: 64))
        for _ in 0..<3 { _ = try s.score(request) }
        let rounds = 100
        let started = Date()
        for _ in 0..<rounds { #expect(try s.score(request).count == 64) }
        let perBatch = Date().timeIntervalSince(started) / Double(rounds)
        print("reward command round trip: \(String(format: "%.3f", perBatch * 1000)) ms per batch of 64 (python3 JSON-lines scorer answering zeros)")
        #expect(perBatch < 0.05, "\(perBatch * 1000) ms per batch")
    }
}
