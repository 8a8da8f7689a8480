import Foundation

/// Runs Slurm's client commands (sbatch, squeue, scontrol, scancel) and captures what they print.
/// Spawned with `ChildProcess` (posix_spawn), like stage processes; output goes through a temporary
/// file, as these commands print a few lines at most.
public struct SlurmCommands: Sendable {
    public let binDirectory: String?

    public init(binDirectory: String? = nil) {
        self.binDirectory = binDirectory
    }

    public struct Output: Sendable {
        public var status: Int32
        /// stdout and stderr, in order.
        public var text: String
        public var succeeded: Bool { status == 0 }
    }

    /// Full path of a Slurm command, or nil if it is not installed (not in `binDirectory`/`PATH`).
    public func path(of command: String) -> String? {
        let directories = binDirectory.map { [$0] }
            ?? (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + command
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    public func run(_ command: String, _ arguments: [String]) throws -> Output {
        guard let executable = path(of: command) else {
            throw RunnerError.spawnFailed(command, "not found in \(binDirectory ?? "PATH"): is this a Slurm login node (slurm-client installed)?")
        }
        let capture = NSTemporaryDirectory() + "pipe-slurm-\(getpid())-\(UUID().uuidString).out"
        defer { unlink(capture) }
        let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let child = try ChildProcess.spawn(executable: executable, arguments: arguments, environment: environment,
                                           directory: FileManager.default.currentDirectoryPath, logPath: capture)
        let termination = child.wait()
        let text = (try? String(contentsOfFile: capture, encoding: .utf8)) ?? ""
        switch termination {
        case .exited(let code): return Output(status: code, text: text)
        case .signalled(let signal): return Output(status: 128 + signal, text: text)
        }
    }

    /// Submits a batch job; returns its id (`sbatch --parsable` prints `id` or `id;cluster`).
    public func submit(_ arguments: [String]) throws -> String {
        let output = try run("sbatch", arguments)
        let lastLine = output.text.split(separator: "\n").last.map(String.init) ?? ""
        let id = lastLine.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard output.succeeded, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            let message = output.text.trimmingCharacters(in: .whitespacesAndNewlines)
            throw RunnerError.io("sbatch failed (exit \(output.status)): \(message.isEmpty ? "no output" : message)")
        }
        return id
    }

    /// States of the given jobs in one `squeue` call, or nil when squeue itself failed (controller
    /// unreachable). A job absent from the answer has left Slurm's memory (or never existed).
    public func queue(_ jobIDs: [String]) -> [String: SlurmQueueEntry]? {
        guard !jobIDs.isEmpty else { return [:] }
        guard let output = try? run("squeue", ["-h", "--states=all", "-o", SlurmQueueEntry.format, "-j", jobIDs.joined(separator: ",")]) else {
            return nil
        }
        if !output.succeeded {
            // squeue rejects the whole list when one id was purged: ask one by one.
            guard output.text.contains("Invalid job id") else { return nil }
            if jobIDs.count == 1 { return [:] }
            var entries: [String: SlurmQueueEntry] = [:]
            for id in jobIDs {
                guard let one = queue([id]) else { return nil }
                entries.merge(one) { first, _ in first }
            }
            return entries
        }
        return Dictionary(SlurmQueueEntry.parse(output.text).map { ($0.jobID, $0) }) { first, _ in first }
    }

    /// `scontrol show job -o ID`, or nil when the job is unknown.
    public func show(_ jobID: String) -> SlurmJobInfo? {
        guard let output = try? run("scontrol", ["show", "job", "-o", jobID]), output.succeeded else { return nil }
        return SlurmJobInfo.parse(output.text)
    }

    /// `scancel ID…`: SIGTERM to the jobs' processes, then SIGKILL after the cluster's KillWait.
    @discardableResult
    public func cancel(_ jobIDs: [String]) -> Bool {
        guard !jobIDs.isEmpty else { return true }
        return (try? run("scancel", jobIDs))?.succeeded ?? false
    }

    /// Does `sinfo` answer (a controller is reachable)?
    public func clusterAnswers() -> Bool {
        (try? run("sinfo", ["-h", "-o", "%P"]))?.succeeded ?? false
    }
}
