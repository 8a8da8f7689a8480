#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a child process could not be started.
public struct SpawnError: Error, CustomStringConvertible, Sendable {
    /// The program that was to run.
    public var executable: String
    /// What failed (`strerror` text, or the missing C library feature).
    public var reason: String

    public init(executable: String, reason: String) {
        self.executable = executable
        self.reason = reason
    }

    public var description: String { "cannot start \(executable): \(reason)" }
}

/// What one of the child's descriptors is set to before it runs.
public enum ChildDescriptor: Sendable {
    /// `fd` opened on `path` with `flags` (and `mode` when it creates the file).
    case open(Int32, path: String, flags: Int32, mode: mode_t = 0)
    /// `to` made a copy of this process's `from` (clearing close-on-exec on the copy).
    case copy(from: Int32, to: Int32)
}

/// `posix_spawn` with the set-up every pipe child shares: its own working directory, the given
/// descriptors, a process group (never the caller's, so Ctrl-C reaches only the caller, which
/// forwards it), default dispositions for the signals the caller handles or ignores, an empty mask.
/// Foundation's `Process` is avoided: it needs a run loop for termination and costs milliseconds.
public enum Spawn {
    /// Starts `executable` with `argv` (argv[0] included) and `environment` (`NAME=value`) in
    /// `directory`, in process group `group` (0: a new group led by the child). Returns its pid.
    public static func start(executable: String, argv: [String], environment: [String], directory: String,
                             descriptors: [ChildDescriptor], group: pid_t) throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor in descriptors {
            switch descriptor {
            case .open(let fd, let path, let flags, let mode): posix_spawn_file_actions_addopen(&actions, fd, path, flags, mode)
            case .copy(let from, let to): posix_spawn_file_actions_adddup2(&actions, from, to)
            }
        }
        guard let addChdir else {
            throw SpawnError(executable: executable, reason: "this C library lacks posix_spawn_file_actions_addchdir_np (glibc ≥ 2.29 needed)")
        }
        _ = addChdir(&actions, directory)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), emptyMask = sigset_t()
        sigemptyset(&defaults)
        sigemptyset(&emptyMask)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, group)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        return try spawn(executable, argv: argv, environment: environment, actions: &actions, attributes: &attributes)
    }

    /// A pipe with close-on-exec on both ends (children spawned by other threads must not inherit them);
    /// `executable` names the program it is for, in the error.
    public static func pipe(for executable: String) throws(SpawnError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard let pipe2, pipe2(&ends, O_CLOEXEC) == 0 else {
            throw SpawnError(executable: executable, reason: "pipe: " + String(cString: strerror(errno)))
        }
        return (ends[0], ends[1])
    }

    /// `posix_spawn` with `argv` and `environment` as C strings (nil environment: this process's).
    static func spawn(_ executable: String, argv: [String], environment: [String]?,
                      actions: inout posix_spawn_file_actions_t, attributes: inout posix_spawnattr_t) throws(SpawnError) -> pid_t {
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { $0.map { strdup($0) } + [nil] }
        defer {
            for pointer in cArgv { free(pointer) }
            for pointer in cEnvironment ?? [] { free(pointer) }
        }
        var pid: pid_t = 0
        let status = cEnvironment == nil
            ? posix_spawn(&pid, executable, &actions, &attributes, cArgv, environ)
            : posix_spawn(&pid, executable, &actions, &attributes, cArgv, cEnvironment!)
        guard status == 0 else { throw SpawnError(executable: executable, reason: String(cString: strerror(status))) }
        return pid
    }

    /// glibc declares `posix_spawn_file_actions_addchdir_np` and `pipe2` only under `_GNU_SOURCE`,
    /// which Swift's Glibc module does not define; look the symbols up at run time instead.
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
