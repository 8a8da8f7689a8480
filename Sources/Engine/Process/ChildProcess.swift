#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Subprocess

/// A child process started with `Spawn.start` in a process group of its own (or its watchdog's), with
/// stdout and stderr appended to one log file; we wait with a plain blocking `waitpid` on a worker thread.
public struct ChildProcess: Sendable {
    public let pid: pid_t
    /// The child's process group: its own pid, or with a watchdog the watchdog's (see `spawn`).
    public let group: pid_t
    /// The guard that kills the child's process group if this process dies (see `spawn`).
    private var watchdog: Watchdog?

    init(pid: pid_t, group: pid_t? = nil, watchdog: Watchdog? = nil) {
        self.pid = pid
        self.group = group ?? pid
        self.watchdog = watchdog
    }

    /// How a child ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        public var succeeded: Bool { self == .exited(0) }

        public var description: String {
            switch self {
            case .exited(let code): return "exit status \(code)"
            case .signalled(let signal): return "killed by signal \(signal) (\(ChildProcess.signalName(signal)))"
            }
        }
    }

    /// Starts `executable` with `arguments` (argv[0] is `executable`), `environment` as `NAME=value`
    /// entries, in `directory`, stdout+stderr appended to `logPath`, stdin from /dev/null.
    /// The child gets its own process group (so Ctrl-C reaches only the scheduler, which forwards it)
    /// and default signal dispositions and an empty signal mask (the scheduler ignores SIGINT itself).
    ///
    /// With `dieWithParent`, a small watchdog (`/bin/sh`, leading a process group of its own) is
    /// started first; it waits on a pipe whose write end only this process holds, and the child is
    /// spawned into the watchdog's group. If this process dies in any way, SIGKILL included, the pipe
    /// closes and the watchdog kills its whole group, the child and everything it started. Because
    /// the watchdog exists before the child, there is no moment at which a child runs unguarded: a
    /// runner killed between the two spawns leaves a watchdog that kills only itself. `inheritedDescriptor` is passed to the child (at a fixed number, close-on-exec
    /// cleared): a per-key lock file descriptor, so the key stays locked while any process of the
    /// stage is alive, even for the moment after its runner died.
    public static func spawn(executable: String, arguments: [String], environment: [String],
                             directory: String, logPath: String, dieWithParent: Bool = false,
                             inheritedDescriptor: Int32? = nil) throws -> ChildProcess {
        guard dieWithParent else {
            let pid = try spawnProcess(executable: executable, arguments: arguments, environment: environment, directory: directory,
                                       logPath: logPath, group: 0, inheritedDescriptor: inheritedDescriptor)
            return ChildProcess(pid: pid)
        }
        let watchdog: Watchdog
        do { watchdog = try Watchdog.start() } catch { throw RunnerError.spawnFailed(error.executable, error.reason) }
        do {
            let pid = try spawnProcess(executable: executable, arguments: arguments, environment: environment, directory: directory,
                                       logPath: logPath, group: watchdog.pid, inheritedDescriptor: inheritedDescriptor)
            return ChildProcess(pid: pid, group: watchdog.pid, watchdog: watchdog)
        } catch {
            watchdog.dismiss()
            throw error
        }
    }

    /// `Spawn.start` with stdin from /dev/null, stdout+stderr appended to `logPath` and the inherited
    /// descriptor, in process group `group` (0: a new group led by the child). Returns its pid.
    private static func spawnProcess(executable: String, arguments: [String], environment: [String], directory: String,
                                     logPath: String, group: pid_t, inheritedDescriptor: Int32?) throws -> pid_t {
        var descriptors: [ChildDescriptor] = [
            .open(0, path: "/dev/null", flags: O_RDONLY),
            .open(1, path: logPath, flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o644),
            .copy(from: 1, to: 2),
        ]
        if let inherited = inheritedDescriptor {
            // dup2 onto another number clears close-on-exec (dup2 onto itself might not).
            descriptors.append(.copy(from: inherited, to: inherited == Self.inheritedNumber ? Self.inheritedNumber + 1 : Self.inheritedNumber))
        }
        do {
            return try Spawn.start(executable: executable, argv: [executable] + arguments, environment: environment,
                                   directory: directory, descriptors: descriptors, group: group)
        } catch {
            throw RunnerError.spawnFailed(error.executable, error.reason)
        }
    }

    /// The watchdog's pid (tests).
    var watchdogPID: pid_t? { watchdog?.pid }
    /// This process's end of the watchdog's pipe (tests close it to play the runner's death).
    var watchdogWriteEnd: Int32? { watchdog?.writeEnd }

    /// Where an inherited descriptor lands in the child (3: right after stdin, stdout, stderr).
    static let inheritedNumber: Int32 = 3

    /// Blocks until the child ends (retrying on EINTR).
    public func wait() -> Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { endGroup(); return .exited(-1) }
        }
        endGroup()
        return Self.decode(status)
    }

    /// Blocks until the child ends; also returns the CPU time (user + system) it used, in seconds.
    /// Benchmarks report it next to wall time because it does not grow when other jobs share the cores.
    public func waitMeasuringCPU() -> (Termination, cpuSeconds: Double) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            if errno != EINTR { endGroup(); return (.exited(-1), 0) }
        }
        endGroup()
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return (Self.decode(status), seconds(usage.ru_utime) + seconds(usage.ru_stime))
    }

    /// With a watchdog: kills whatever the child left running in its group, then stops the watchdog.
    /// A stage's `cmd &` outliving it could still write through an open descriptor into an output
    /// after it was stored (and would hold the key's lock). The watchdog leads the group and is alive
    /// until `dismiss`, so the group id cannot have been reused.
    private func endGroup() {
        guard let watchdog else { return }
        kill(-group, SIGKILL)
        watchdog.dismiss()
    }

    /// Sends `signal` to the child's whole process group (the shell and everything it started; the
    /// watchdog in it ignores everything but SIGKILL).
    public func signalGroup(_ signal: Int32) {
        if kill(-group, signal) != 0 { kill(pid, signal) }
    }

    static func decode(_ status: Int32) -> Termination {
        let low = status & 0x7f
        if low == 0 { return .exited((status >> 8) & 0xff) }
        return .signalled(low)
    }

    public static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: return "SIGKILL"
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGSEGV: return "SIGSEGV"
        case SIGABRT: return "SIGABRT"
        case SIGILL: return "SIGILL (a Swift runtime trap)"
        case SIGBUS: return "SIGBUS"
        case SIGFPE: return "SIGFPE"
        case SIGHUP: return "SIGHUP"
        case SIGPIPE: return "SIGPIPE"
        default: return "signal \(signal)"
        }
    }
}
