#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

#if canImport(Glibc)
@discardableResult private func systemClose(_ fd: Int32) -> Int32 { Glibc.close(fd) }
#else
@discardableResult private func systemClose(_ fd: Int32) -> Int32 { Darwin.close(fd) }
#endif

/// A long-lived child process (`/bin/sh -c COMMAND`) spoken to in lines: one line to its stdin, one
/// line back from its stdout. Its stderr is forwarded line by line to a log sink and its last lines are
/// kept for error messages.
///
/// The child runs in a process group of its own, so a timeout kills the shell and everything it
/// started. A small watchdog (`/bin/sh` blocked reading a pipe only this process can write) kills that
/// group if this process dies in any way, so no scorer outlives its stage.
final class ScorerProcess {
    /// A failed exchange: what happened, and whether the child is gone (then every later call fails too).
    struct Failure: Error {
        var message: String
    }

    let command: String
    let pid: pid_t
    private var stdinFD: Int32, stdoutFD: Int32, stderrFD: Int32
    private let watchdogPID: pid_t, watchdogFD: Int32
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
        let input = try Self.pipe(), output = try Self.pipe(), errors = try Self.pipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input.read, 0)
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errors.write, 2)
        guard let addChdir = Self.addChdir else {
            throw StageError.failed("reward command: this C library lacks posix_spawn_file_actions_addchdir_np (glibc ≥ 2.29 needed)")
        }
        _ = addChdir(&actions, directory)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), emptyMask = sigset_t()
        sigemptyset(&defaults); sigemptyset(&emptyMask)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let words: [String] = ["/bin/sh", "-c", command]
        let argv = words.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) }; for p in envp { free(p) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, "/bin/sh", &actions, &attributes, argv, envp)
        for fd in [input.read, output.write, errors.write] { systemClose(fd) }
        guard status == 0 else {
            for fd in [input.write, output.read, errors.read] { systemClose(fd) }
            throw StageError.failed("reward command: cannot start /bin/sh: \(String(cString: strerror(status)))")
        }
        pid = child
        stdinFD = input.write; stdoutFD = output.read; stderrFD = errors.read
        for fd in [stdinFD, stdoutFD, stderrFD] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        do {
            (watchdogPID, watchdogFD) = try Self.startWatchdog(guarding: child)
        } catch {
            kill(-child, SIGKILL)
            var s: Int32 = 0
            _ = waitpid(child, &s, 0)
            throw error
        }
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
                kill(-pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                done = true
                break
            }
            var fds = [pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, stderrOpen ? 10 : 0)
            if stderrOpen { readStderr() } else { usleep(10_000) }
        }
        // Whatever else the group still runs goes with it.
        kill(-pid, SIGKILL)
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
        kill(-pid, SIGKILL)
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

    /// A pipe with close-on-exec on both ends (other children must not inherit them).
    private static func pipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard let pipe2, pipe2(&ends, O_CLOEXEC) == 0 else {
            throw StageError.failed("reward command: pipe: \(String(cString: strerror(errno)))")
        }
        return (ends[0], ends[1])
    }

    private static func startWatchdog(guarding group: pid_t) throws -> (pid_t, Int32) {
        let ends = try pipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends.read, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        let script = "trap '' INT HUP TERM QUIT; read -r _; kill -s KILL -- -\(group)"
        let words: [String] = ["/bin/sh", "-c", script]
        let argv = words.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
        systemClose(ends.read)
        guard status == 0 else {
            systemClose(ends.write)
            throw StageError.failed("reward command: cannot start its watchdog: \(String(cString: strerror(status)))")
        }
        return (pid, ends.write)
    }

    private var watchdogStopped = false
    private func stopWatchdog() {
        guard !watchdogStopped else { return }
        watchdogStopped = true
        kill(watchdogPID, SIGKILL)
        var s: Int32 = 0
        while waitpid(watchdogPID, &s, 0) < 0 && errno == EINTR {}
        systemClose(watchdogFD)
    }

    /// glibc declares these only under `_GNU_SOURCE`, which Swift's Glibc module does not define.
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addChdir: AddChdir? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else { return nil }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private static let pipe2: Pipe2? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") else { return nil }
        return unsafeBitCast(symbol, to: Pipe2.self)
    }()
}
