#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `/bin/sh` leading a process group of its own, blocked reading a pipe whose write end only this
/// process holds. If this process dies in any way, SIGKILL included, the pipe closes and the watchdog
/// kills its whole group: spawn a child into `pid`'s group and nothing it starts outlives us. Started
/// before the child, so there is no moment at which a child runs unguarded (a caller killed between
/// the two spawns leaves a watchdog that kills only itself).
public struct Watchdog: Sendable {
    /// The watchdog's pid, which is also its process group's id.
    public let pid: pid_t
    /// This process's end of the pipe (closing it plays this process's death).
    public let writeEnd: Int32

    public static func start() throws(SpawnError) -> Watchdog {
        let ends = try Spawn.pipe(for: "/bin/sh")
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
        // Ctrl-C and hang-ups are the caller's to handle; only EOF on stdin ends the wait.
        let script = "trap '' INT HUP TERM QUIT; read -r _; kill -s KILL -- -$$"
        let pid: pid_t
        do {
            pid = try Spawn.spawn("/bin/sh", argv: ["/bin/sh", "-c", script], environment: nil, actions: &actions, attributes: &attributes)
        } catch {
            close(ends.read)
            close(ends.write)
            throw error
        }
        close(ends.read)
        return Watchdog(pid: pid, writeEnd: ends.write)
    }

    /// The guarded child ended normally: stop the watchdog before it could see EOF, and reap it.
    public func dismiss() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        close(writeEnd)
    }
}
