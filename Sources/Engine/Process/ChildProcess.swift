#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn` in a process group of its own (or its watchdog's), with stdout and stderr
/// appended to one log file. Foundation's `Process` is avoided: it needs a run loop for termination
/// and costs a few milliseconds per spawn; we wait with a plain blocking `waitpid` on a worker thread.
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
        let watchdog = try Watchdog.start()
        do {
            let pid = try spawnProcess(executable: executable, arguments: arguments, environment: environment, directory: directory,
                                       logPath: logPath, group: watchdog.pid, inheritedDescriptor: inheritedDescriptor)
            return ChildProcess(pid: pid, group: watchdog.pid, watchdog: watchdog)
        } catch {
            watchdog.dismiss()
            throw error
        }
    }

    /// posix_spawn with the child's file actions and signal set-up, in process group `group` (0: a
    /// new group led by the child). Returns its pid.
    private static func spawnProcess(executable: String, arguments: [String], environment: [String], directory: String,
                                     logPath: String, group: pid_t, inheritedDescriptor: Int32?) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        guard let addChdir = Self.addChdir else {
            throw RunnerError.spawnFailed(executable, "this C library lacks posix_spawn_file_actions_addchdir_np (glibc ≥ 2.29 needed)")
        }
        _ = addChdir(&actions, directory)
        if let inherited = inheritedDescriptor {
            // dup2 onto another number clears close-on-exec (dup2 onto itself might not).
            posix_spawn_file_actions_adddup2(&actions, inherited, inherited == Self.inheritedNumber ? Self.inheritedNumber + 1 : Self.inheritedNumber)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, group)
        posix_spawnattr_setflags(&attributes,
                                 Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw RunnerError.spawnFailed(executable, String(cString: strerror(status)))
        }
        return pid
    }

    /// The watchdog's pid (tests).
    var watchdogPID: pid_t? { watchdog?.pid }
    /// This process's end of the watchdog's pipe (tests close it to play the runner's death).
    var watchdogWriteEnd: Int32? { watchdog?.writeEnd }

    /// Where an inherited descriptor lands in the child (3: right after stdin, stdout, stderr).
    static let inheritedNumber: Int32 = 3

    /// `/bin/sh` blocked reading a pipe that only this process can write: EOF means we died, and it
    /// kills its own process group, which the guarded child joins.
    struct Watchdog: Sendable {
        let pid: pid_t
        let writeEnd: Int32

        static func start() throws -> Watchdog {
            var ends: [Int32] = [-1, -1]
            // Close-on-exec from the start: a stage spawned by another thread must not get the write end.
            guard let pipe2 = ChildProcess.pipe2, pipe2(&ends, O_CLOEXEC) == 0 else {
                throw RunnerError.spawnFailed("/bin/sh", "pipe: " + String(cString: strerror(errno)))
            }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_adddup2(&actions, ends[0], 0)
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
            // Ctrl-C and hang-ups are the runner's to handle; only EOF on stdin ends the wait.
            let script = "trap '' INT HUP TERM QUIT; read -r _; kill -s KILL -- -$$"
            let words: [String] = ["/bin/sh", "-c", script]
            let argv = words.map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            var pid: pid_t = 0
            let status = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
            close(ends[0])
            guard status == 0 else {
                close(ends[1])
                throw RunnerError.spawnFailed("/bin/sh", String(cString: strerror(status)))
            }
            return Watchdog(pid: pid, writeEnd: ends[1])
        }

        /// The child ended normally: stop the watchdog before it could see EOF.
        func dismiss() {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            close(writeEnd)
        }
    }

    /// glibc declares `posix_spawn_file_actions_addchdir_np` only under `_GNU_SOURCE`, which Swift's
    /// Glibc module does not define; look the symbol up at run time instead.
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addChdir: AddChdir? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else { return nil }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()

    /// `pipe2` is declared only under `_GNU_SOURCE` too.
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private static let pipe2: Pipe2? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") else { return nil }
        return unsafeBitCast(symbol, to: Pipe2.self)
    }()

    /// Blocks until the child ends (retrying on EINTR).
    public func wait() -> Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { watchdog?.dismiss(); return .exited(-1) }
        }
        watchdog?.dismiss()
        return Self.decode(status)
    }

    /// Blocks until the child ends; also returns the CPU time (user + system) it used, in seconds.
    /// Benchmarks report it next to wall time because it does not grow when other jobs share the cores.
    public func waitMeasuringCPU() -> (Termination, cpuSeconds: Double) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            if errno != EINTR { watchdog?.dismiss(); return (.exited(-1), 0) }
        }
        watchdog?.dismiss()
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return (Self.decode(status), seconds(usage.ru_utime) + seconds(usage.ru_stime))
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
