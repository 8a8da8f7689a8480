import Foundation

/// `PIPE_PROFILE=1 pipe run …`: wall and CPU time of each phase of the run, printed to stderr when
/// the command ends (`report()`), so "where does a no-op rerun spend its time" is answered by the
/// binary itself. Disabled (the default), every call is a single branch.
///
/// Phases measured on the coordinating thread use that thread's CPU clock; `total` and `start-up`
/// use the process's (all threads, including the registry writer).
public final class RunProfile: @unchecked Sendable {
    public static let shared = RunProfile(enabled: ProcessInfo.processInfo.environment["PIPE_PROFILE"].map { !$0.isEmpty && $0 != "0" } ?? false)

    public let enabled: Bool
    private let lock = NSLock()
    /// Phase name → (wall s, cpu s, calls), in first-seen order.
    private var phases: [(name: String, wall: Double, cpu: Double, calls: Int)] = []
    private let startWall: Double
    private let startCPU: Double

    init(enabled: Bool) {
        self.enabled = enabled
        startWall = enabled ? Self.wallNow() : 0
        startCPU = enabled ? Self.cpu(CLOCK_PROCESS_CPUTIME_ID) : 0
    }

    /// Runs `body`, adding its wall and thread-CPU time to `phase`.
    @inline(__always)
    public func measure<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        let wall = Self.wallNow(), cpu = Self.cpu(CLOCK_THREAD_CPUTIME_ID)
        defer { add(phase, wall: Self.wallNow() - wall, cpu: Self.cpu(CLOCK_THREAD_CPUTIME_ID) - cpu) }
        return try body()
    }

    /// Adds one measurement to `phase`.
    public func add(_ phase: String, wall: Double, cpu: Double) {
        lock.lock(); defer { lock.unlock() }
        if let i = phases.firstIndex(where: { $0.name == phase }) {
            phases[i].wall += wall; phases[i].cpu += cpu; phases[i].calls += 1
        } else {
            phases.append((phase, wall, cpu, 1))
        }
    }

    /// Prints the table to stderr (nothing when disabled).
    public func report() {
        guard enabled else { return }
        let totalWall = Self.wallNow() - startWall, totalCPU = Self.cpu(CLOCK_PROCESS_CPUTIME_ID)
        lock.lock()
        var lines = ["pipe profile (ms)                          wall       cpu    calls"]
        lines.append(Self.line("start-up (exec → first span, cpu only)", wall: .nan, cpu: startCPU, calls: 1))
        for phase in phases { lines.append(Self.line(phase.name, wall: phase.wall, cpu: phase.cpu, calls: phase.calls)) }
        lines.append(Self.line("total (process, all threads)", wall: totalWall, cpu: totalCPU, calls: 1))
        lock.unlock()
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    private static func line(_ name: String, wall: Double, cpu: Double, calls: Int) -> String {
        let wallText = wall.isNaN ? "         -" : String(format: "%10.2f", wall * 1000)
        return name.padding(toLength: 40, withPad: " ", startingAt: 0) + wallText + String(format: "%10.2f %8d", cpu * 1000, calls)
    }

    private static func wallNow() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private static func cpu(_ clock: clockid_t) -> Double {
        var time = timespec()
        clock_gettime(clock, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
