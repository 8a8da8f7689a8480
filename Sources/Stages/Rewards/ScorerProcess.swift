#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Subprocess

#if canImport(Glibc)
@discardableResult private func systemClose(_ fd: Int32) -> Int32 { Glibc.close(fd) }
#else
@discardableResult private func systemClose(_ fd: Int32) -> Int32 { Darwin.close(fd) }
#endif

/// A long-lived child process (`/bin/sh -c COMMAND`) spoken to in lines: one line to its stdin, one
/// line back from its stdout. Its stderr is forwarded line by line to a log sink and its last lines are
/// kept for error messages.
///
/// The child runs in the process group of a `Watchdog` started just before it, so a timeout kills the
/// shell and everything it started, and the watchdog kills that group if this process dies in any
/// way, so no scorer outlives its stage.
final class ScorerProcess {
    /// A failed exchange: what happened, and whether the child is gone (then every later call fails too).
    struct Failure: Error {
        var message: String
    }

    let command: String
    let pid: pid_t
    /// The watchdog's process group, which the child joined.
    private let group: pid_t
    private var stdinFD: Int32, stdoutFD: Int32, stderrFD: Int32
    /// The guard the child runs under (tests check the group).
    let watchdog: Watchdog
    private var stdoutBuffer: [UInt8] = []
    private var stderrPartial: [UInt8] = []
    private var stderrOpen = true
    /// The last `tailLines` stderr lines.
    private(set) var stderrTail: [String] = []
    let tailLines = 20
    private let log: (String) -> Void
    private var exited: String?

    /// Starts `command` with `/bin/sh -c` in `directory`, with `environment` (`NAME=value`) entries.
    init(command: String, directory: String, environment: [String], log: @escaping (String) -> Void) throws {
        self.command = command
        self.log = log
        // A write to a scorer that died must fail with EPIPE, not kill the stage.
        signal(SIGPIPE, SIG_IGN)
        let watchdog: Watchdog
        do { watchdog = try Watchdog.start() } catch { throw StageError.failed("reward command: \(error)") }
        var opened: [Int32] = []
        func pipe() throws(SpawnError) -> (read: Int32, write: Int32) {
            let ends = try Spawn.pipe(for: "/bin/sh")
            opened += [ends.read, ends.write]
            return ends
        }
        let child: pid_t, input: (read: Int32, write: Int32), output: (read: Int32, write: Int32), errors: (read: Int32, write: Int32)
        do throws(SpawnError) {
            input = try pipe(); output = try pipe(); errors = try pipe()
            child = try Spawn.start(executable: "/bin/sh", argv: ["/bin/sh", "-c", command], environment: environment,
                                    directory: directory,
                                    descriptors: [.copy(from: input.read, to: 0), .copy(from: output.write, to: 1), .copy(from: errors.write, to: 2)],
                                    group: watchdog.pid)
        } catch {
            for fd in opened { systemClose(fd) }
            watchdog.dismiss()
            throw StageError.failed("reward command: \(error)")
        }
        for fd in [input.read, output.write, errors.write] { systemClose(fd) }
        pid = child
        group = watchdog.pid
        self.watchdog = watchdog
        stdinFD = input.write; stdoutFD = output.read; stderrFD = errors.read
        for fd in [stdinFD, stdoutFD, stderrFD] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    /// Sends `line` (a newline is appended) and returns the child's next stdout line (without the
    /// newline). Kills the child when no full line arrives within `timeout` seconds.
    func exchange(_ line: String, timeout: Double) throws(Failure) -> String {
        if let exited { throw Failure(message: "the command is not running (\(exited))") }
        let deadline = Self.now() + timeout
        // Output nobody asked for (a stray print) would be taken for the next answer: refuse it.
        drain(stdoutFD, into: &stdoutBuffer)
        if !stdoutBuffer.isEmpty {
            let stray = String(decoding: stdoutBuffer.prefix(200), as: UTF8.self)
            terminate()
            throw Failure(message: "it wrote to stdout between requests ('\(stray)'); stdout carries only the answers — print diagnostics to stderr")
        }
        var pending = Array((line + "\n").utf8)[...]
        while true {
            if let newline = stdoutBuffer.firstIndex(of: 0x0A) {
                let answer = String(decoding: stdoutBuffer[..<newline], as: UTF8.self)
                stdoutBuffer.removeSubrange(...newline)
                return answer
            }
            let remaining = deadline - Self.now()
            if remaining <= 0 {
                terminate()
                throw Failure(message: "no answer within the timeout of \(Self.seconds(timeout)) (reward_timeout); killed it")
            }
            var fds: [pollfd] = [pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)]
            if stderrOpen { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            if !pending.isEmpty { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(remaining * 1000 + 1, 60_000)))
            if ready < 0 && errno != EINTR { throw Failure(message: "poll: \(String(cString: strerror(errno)))") }
            if stderrOpen { readStderr() }
            if !pending.isEmpty {
                let written = pending.withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
                if written > 0 {
                    pending = pending.dropFirst(written)
                } else if written < 0 && errno != EAGAIN && errno != EINTR {
                    throw Failure(message: "it stopped reading its stdin (\(String(cString: strerror(errno)))); \(reap(grace: 1))")
                }
            }
            if !drain(stdoutFD, into: &stdoutBuffer) && stdoutBuffer.firstIndex(of: 0x0A) == nil {
                if !stdoutBuffer.isEmpty {
                    let partial = String(decoding: stdoutBuffer.prefix(200), as: UTF8.self)
                    throw Failure(message: "its stdout ended in the middle of an answer ('\(partial)'); \(reap(grace: 1))")
                }
                throw Failure(message: "it closed its stdout without answering; \(reap(grace: 1))")
            }
        }
    }

    /// Reads what is available into `buffer`; false at end of file.
    @discardableResult
    private func drain(_ fd: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { buffer += chunk[0..<n]; continue }
            if n == 0 { return false }
            return true // EAGAIN: nothing more for now
        }
    }

    /// Forwards complete stderr lines to the log and keeps the last ones. A carriage return ends a
    /// line too (progress bars redraw with it); empty lines are dropped.
    private func readStderr() {
        if !drain(stderrFD, into: &stderrPartial) { stderrOpen = false }
        while let end = stderrPartial.firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) {
            if end > 0 { emitStderr(String(decoding: stderrPartial[..<end], as: UTF8.self)) }
            stderrPartial.removeSubrange(...end)
        }
        if !stderrOpen && !stderrPartial.isEmpty {
            emitStderr(String(decoding: stderrPartial, as: UTF8.self))
            stderrPartial = []
        }
    }

    private func emitStderr(_ line: String) {
        log("reward command stderr: " + line)
        stderrTail.append(line)
        if stderrTail.count > tailLines { stderrTail.removeFirst(stderrTail.count - tailLines) }
    }

    /// Waits up to `grace` seconds for the child to exit (forwarding its last stderr), kills its group
    /// if it has not, and describes how it ended.
    private func reap(grace: Double) -> String {
        if let exited { return exited }
        let deadline = Self.now() + grace
        var status: Int32 = 0
        var done = false
        while !done {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { done = true; break }
            if r < 0 && errno != EINTR { break }
            if Self.now() >= deadline {
                kill(-group, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                done = true
                break
            }
            var fds = [pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, stderrOpen ? 10 : 0)
            if stderrOpen { readStderr() } else { usleep(10_000) }
        }
        // Whatever else the group still runs goes with it.
        kill(-group, SIGKILL)
        if stderrOpen {
            var fds = [pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 1, 100) > 0 { readStderr() }
        }
        let low = status & 0x7f
        let how = !done ? "ended" : low == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(low)"
        exited = how
        stopWatchdog()
        return how
    }

    /// Kills the child's group now.
    private func terminate() {
        kill(-group, SIGKILL)
        _ = reap(grace: 1)
    }

    /// Closes the child's stdin (a well-behaved scorer exits on end of input), gives it `grace`
    /// seconds, then kills it. Returns how it ended.
    @discardableResult
    func close(grace: Double = 5) -> String {
        if let exited { closeDescriptors(); return exited }
        systemClose(stdinFD); stdinFD = -1
        let how = reap(grace: grace)
        closeDescriptors()
        return how
    }

    private func closeDescriptors() {
        for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { systemClose(fd) }
        stdinFD = -1; stdoutFD = -1; stderrFD = -1
    }

    deinit { if exited == nil { terminate() }; closeDescriptors() }

    // MARK: - Plumbing

    private static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func seconds(_ x: Double) -> String { x == x.rounded() ? "\(Int(x)) s" : "\(x) s" }

    private var watchdogStopped = false
    private func stopWatchdog() {
        guard !watchdogStopped else { return }
        watchdogStopped = true
        watchdog.dismiss()
    }
}
