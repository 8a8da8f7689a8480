import Foundation

/// A Slurm job state as `squeue -o %T` and `scontrol show job` (`JobState=`) print it.
/// Plain data plus parsing; `SlurmOutcome` turns a finished job into an `ExecutionOutcome`.
public enum SlurmJobState: Sendable, Equatable, CustomStringConvertible {
    case pending, configuring, running, completing, suspended, requeued
    case completed, failed, cancelled, timeout, nodeFail, outOfMemory, bootFail, deadline, preempted
    /// Any state this code does not know (Slurm adds some between versions); not terminal.
    case other(String)

    public init(_ text: String) {
        // scontrol may print e.g. "CANCELLED by 0"; squeue prints the bare name.
        let name = text.split(separator: " ").first.map(String.init)?.uppercased() ?? ""
        switch name {
        case "PENDING", "PD": self = .pending
        case "CONFIGURING", "CF": self = .configuring
        case "RUNNING", "R": self = .running
        case "COMPLETING", "CG": self = .completing
        case "SUSPENDED", "S", "STOPPED", "ST": self = .suspended
        case "REQUEUED", "RQ", "REQUEUE_HOLD", "REQUEUE_FED": self = .requeued
        case "COMPLETED", "CD": self = .completed
        case "FAILED", "F": self = .failed
        case "CANCELLED", "CA", "REVOKED", "RV": self = .cancelled
        case "TIMEOUT", "TO": self = .timeout
        case "NODE_FAIL", "NF": self = .nodeFail
        case "OUT_OF_MEMORY", "OOM": self = .outOfMemory
        case "BOOT_FAIL", "BF": self = .bootFail
        case "DEADLINE", "DL": self = .deadline
        case "PREEMPTED", "PR": self = .preempted
        default: self = .other(name)
        }
    }

    /// The job will not run (any more): its end is known.
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .cancelled, .timeout, .nodeFail, .outOfMemory, .bootFail, .deadline, .preempted: true
        default: false
        }
    }

    /// A state Slurm leaves again by itself when the job may be requeued (`Requeue=1`): with
    /// PreemptMode=REQUEUE or a node failure, squeue can show it for a moment before REQUEUED/PENDING.
    public var mayBeRequeued: Bool { self == .preempted || self == .nodeFail }

    /// Has the job's program started (so a `RUNNING` note belongs in the live view)?
    public var hasStarted: Bool {
        switch self {
        case .pending, .requeued, .configuring, .other: false
        default: true
        }
    }

    public var description: String {
        switch self {
        case .pending: "PENDING"
        case .configuring: "CONFIGURING"
        case .running: "RUNNING"
        case .completing: "COMPLETING"
        case .suspended: "SUSPENDED"
        case .requeued: "REQUEUED"
        case .completed: "COMPLETED"
        case .failed: "FAILED"
        case .cancelled: "CANCELLED"
        case .timeout: "TIMEOUT"
        case .nodeFail: "NODE_FAIL"
        case .outOfMemory: "OUT_OF_MEMORY"
        case .bootFail: "BOOT_FAIL"
        case .deadline: "DEADLINE"
        case .preempted: "PREEMPTED"
        case .other(let name): name
        }
    }
}

/// One line of `squeue -h --states=all -o '%i|%T|%N|%r'`.
public struct SlurmQueueEntry: Sendable, Equatable {
    public var jobID: String
    public var state: SlurmJobState
    /// Node(s) it runs on; empty while pending.
    public var nodes: String
    /// Why it is pending ("Resources", "Priority", …); "None" while running.
    public var reason: String

    public init(jobID: String, state: SlurmJobState, nodes: String = "", reason: String = "None") {
        self.jobID = jobID
        self.state = state
        self.nodes = nodes
        self.reason = reason
    }

    /// The reason goes last: it is free text.
    public static let format = "%i|%T|%N|%r"

    /// Parses squeue's output; lines that are not `id|STATE|nodes|reason` (error messages) are skipped.
    public static func parse(_ output: String) -> [SlurmQueueEntry] {
        output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 4 else { return nil }
            guard !fields[0].isEmpty, fields[0].allSatisfy({ $0.isNumber || $0 == "_" }) else { return nil }
            return SlurmQueueEntry(jobID: fields[0], state: SlurmJobState(fields[1]), nodes: fields[2], reason: fields[3])
        }
    }
}

extension SlurmQueueEntry {
    /// Pending reasons that mean the job will never start as submitted (the partition cannot hold
    /// it, the account or QOS is refused, …). Slurm accepts such jobs unless `EnforcePartLimits`
    /// is set, and they would pend forever; pipe cancels them and fails the stage instead.
    public static let hopelessReasons: Set<String> = [
        "PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit", "BadConstraints", "InvalidAccount",
        "InvalidQOS", "AccountNotAllowed", "QOSNotAllowed", "DependencyNeverSatisfied",
    ]

    /// Pending for a reason that will not go away by itself.
    public var isHopeless: Bool { state == .pending && Self.hopelessReasons.contains(reason) }
}

/// The fields of `scontrol show job -o ID` that matter to pipe.
public struct SlurmJobInfo: Sendable, Equatable {
    public var state: SlurmJobState
    public var reason: String?
    /// `ExitCode=code:signal` of the batch script.
    public var exitCode: Int32?
    public var exitSignal: Int32?
    public var nodes: String?
    public var timeLimit: String?
    /// `Requeue=1`: Slurm may run the job again (requeue on preemption or node failure, `scontrol requeue`).
    public var requeue: Bool = false
    /// `Restarts=`: how many times the job was requeued.
    public var restarts: Int = 0

    /// Parses `KEY=value KEY=value …` (one job; `-o` puts it on one line). Values never contain
    /// spaces in the fields read here, except `JobState` which is followed by `Reason=`.
    public static func parse(_ output: String) -> SlurmJobInfo? {
        var fields: [String: String] = [:]
        for token in output.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard let equals = token.firstIndex(of: "=") else { continue }
            let key = String(token[..<equals])
            if fields[key] == nil { fields[key] = String(token[token.index(after: equals)...]) }
        }
        guard let stateText = fields["JobState"] else { return nil }
        var info = SlurmJobInfo(state: SlurmJobState(stateText))
        if let reason = fields["Reason"], reason != "None" { info.reason = reason }
        if let exit = fields["ExitCode"] {
            let parts = exit.split(separator: ":")
            if parts.count == 2 { info.exitCode = Int32(parts[0]); info.exitSignal = Int32(parts[1]) }
        }
        if let nodes = fields["NodeList"], nodes != "(null)" { info.nodes = nodes }
        info.timeLimit = fields["TimeLimit"]
        info.requeue = fields["Requeue"] == "1"
        info.restarts = fields["Restarts"].flatMap { Int($0) } ?? 0
        return info
    }
}

/// How a finished Slurm job maps to the scheduler's outcome, with a message that says what happened
/// in Slurm's terms and what to do.
public enum SlurmOutcome {
    /// - Parameters:
    ///   - exitStatus: what the batch script wrote to its exit-status file (the ground truth that
    ///     the stage's program ended and how), nil if the file never appeared.
    ///   - state: the last state Slurm reported, nil if the job had already left Slurm's memory.
    ///   - info: `scontrol show job` fields, when available.
    public static func outcome(jobID: String, exitStatus: Int32?, state: SlurmJobState?, info: SlurmJobInfo?,
                               resources: SlurmResources) -> ExecutionOutcome {
        let job = "Slurm job \(jobID)" + (info?.nodes.map { " on \($0)" } ?? "")
        // A program that ended with 0 ran to completion, whatever happened to the job afterwards.
        if exitStatus == 0 { return .succeeded() }
        let finalState = info?.state.isTerminal == true ? info!.state : state
        switch finalState {
        case .cancelled:
            return .failed("\(job) was cancelled (scancel or an administrator); the stage left no result and reruns next time")
        case .timeout:
            let limit = info?.timeLimit ?? resources.time ?? "the partition's limit"
            return .failed("\(job) hit its time limit (\(limit)); raise `resources: { time: … }` for this stage")
        case .nodeFail:
            return .failed("\(job) failed because its node failed (NODE_FAIL); rerun to resubmit the stage")
        case .outOfMemory:
            return .failed("\(job) ran out of memory (\(resources.mem.map { "--mem=\($0)" } ?? "default memory")); raise `resources: { mem: … }`")
        case .bootFail:
            return .failed("\(job) could not boot its node (BOOT_FAIL); rerun to resubmit the stage")
        case .deadline:
            return .failed("\(job) missed its deadline (DEADLINE)")
        case .preempted:
            return .failed("\(job) was preempted by a higher-priority job; rerun to resubmit the stage")
        default:
            break
        }
        if let exitStatus {
            if exitStatus > 128 && exitStatus < 160 {
                let signal = exitStatus - 128
                return .failed("exited with status \(exitStatus) (killed by signal \(signal), \(ChildProcess.signalName(signal))) in \(job)")
            }
            return .failed("exited with status \(exitStatus) in \(job)")
        }
        // No exit-status file: the batch script itself was killed, or the file is not visible here.
        if let info, let signal = info.exitSignal, signal != 0 {
            return .failed("was killed by signal \(signal) (\(ChildProcess.signalName(signal))) in \(job)")
        }
        if let info, let code = info.exitCode, code != 0 {
            return .failed("exited with status \(code) in \(job) (\(info.state)\(info.reason.map { ", \($0)" } ?? ""))")
        }
        if let finalState {
            return .failed("\(job) ended \(finalState) but its batch script wrote no exit status: is the store on a filesystem the compute nodes share (same path)?")
        }
        return .failed("\(job) left Slurm's queue without an exit status (purged after MinJobAge?); rerun to resubmit the stage")
    }
}
