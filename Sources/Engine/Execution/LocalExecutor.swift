import Foundation

/// Runs each stage as a child process of this `pipe` process, in its own process group.
public final class LocalExecutor: Executor, @unchecked Sendable {
    public let name = "local"
    public let sharesCores = true
    public let pipeExecutable: String
    /// How long children get after SIGTERM before SIGKILL on interrupt.
    public let gracePeriod: Duration

    private let lock = NSLock()
    private var running: [pid_t: ChildProcess] = [:]
    private var interrupted = false

    public init(pipeExecutable: String = LocalExecutor.currentExecutable(), gracePeriod: Duration = .seconds(5)) {
        self.pipeExecutable = pipeExecutable
        self.gracePeriod = gracePeriod
    }

    public func execute(_ job: StageJob) -> ExecutionOutcome {
        let executable: String
        let arguments: [String]
        switch job.program {
        case .builtin(let invocationPath):
            executable = pipeExecutable
            arguments = ["_stage", invocationPath]
        case .command(let command):
            executable = "/bin/sh"
            arguments = ["-c", command]
        }
        lock.lock()
        if interrupted { lock.unlock(); return .interrupted }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(executable: executable, arguments: arguments, environment: job.environment,
                                           directory: job.workingDirectory, logPath: job.logPath,
                                           dieWithParent: true, inheritedDescriptor: job.lockDescriptor)
        } catch {
            lock.unlock()
            return .failed("\(error)")
        }
        running[child.pid] = child
        lock.unlock()

        let (termination, cpuSeconds) = child.waitMeasuringCPU()

        lock.lock()
        running[child.pid] = nil
        let wasInterrupted = interrupted
        lock.unlock()
        if wasInterrupted { return .interrupted }
        switch termination {
        case .exited(0): return .succeeded(cpuSeconds: cpuSeconds)
        case .exited(let code): return .failed("exited with status \(code)")
        case .signalled: return .failed("was \(termination)")
        }
    }

    /// SIGTERM to every running stage's process group, then SIGKILL after the grace period.
    public func interrupt() {
        lock.lock()
        interrupted = true
        let children = Array(running.values)
        lock.unlock()
        for child in children { child.signalGroup(SIGTERM) }
        guard !children.isEmpty else { return }
        let deadline = ContinuousClock.now + gracePeriod
        Thread.detachNewThread { [self] in
            while ContinuousClock.now < deadline {
                lock.lock(); let left = running.count; lock.unlock()
                if left == 0 { return }
                usleep(20_000)
            }
            lock.lock(); let stubborn = Array(running.values); lock.unlock()
            for child in stubborn { child.signalGroup(SIGKILL) }
        }
    }

    /// This process's own binary (so built-in stages run the same code as the scheduler).
    public static func currentExecutable() -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return CommandLine.arguments[0]
    }
}
