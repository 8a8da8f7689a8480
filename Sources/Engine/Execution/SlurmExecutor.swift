import Foundation
import StageWire

/// Runs each stage as a Slurm batch job (`sbatch`) instead of a local child process.
///
/// The scheduler calls `execute` only for stages whose inputs are ready, so no Slurm dependencies
/// are used and no job can pend forever behind a failed parent. One poller thread asks `squeue`
/// about every job in flight in a single call per interval; `execute` blocks its worker thread
/// until its job has ended. The batch script's exit-status file is the ground truth of how the
/// stage's program ended (see `SlurmBatchScript`); Slurm's state explains the rest (cancelled,
/// time limit, node failure, out of memory). The scheduler commits outputs only after
/// `.succeeded`, so a killed job leaves no result. A job that requeues itself (see `SlurmBatchScript`)
/// or that Slurm requeues keeps its id and is followed through REQUEUED and PENDING until it ends.
public final class SlurmExecutor: Executor, @unchecked Sendable {
    public let name = "slurm"
    public let pipeExecutable: String
    public let configuration: SlurmConfiguration
    /// Goes into job names: `pipe-<runLabel>-<stage>`.
    public let runLabel: String
    let commands: SlurmCommands

    /// When a job was submitted, started on its node (its batch script says; else when squeue first
    /// showed it running), and was seen ended (for the bench and tests).
    public struct JobTiming: Sendable {
        public var stage: String
        public var jobID: String
        public var submitted: Date
        public var started: Date?
        public var ended: Date?
        public var outcome: ExecutionOutcome?
    }

    private let condition = NSCondition()
    private var observations: [String: Observation] = [:]
    private var generation = 0
    private var pollerRunning = false
    private var interrupted = false
    private var timingsByJob: [String: JobTiming] = [:]

    private struct Observation {
        var entry: SlurmQueueEntry?
        /// Polls since submission in which squeue answered but did not list the job.
        var absentPolls = 0
        var lastAnswer = Date()
    }

    /// How long squeue may fail in a row (controller restarting) before jobs are given up.
    public var unreachableLimit: Double = 600
    /// How long an interrupted job may take to end after `scancel` before `execute` returns.
    public var cancelWait: Double = 30
    /// How long a job may pend for a reason that never clears (`SlurmQueueEntry.isHopeless`)
    /// before pipe cancels it and fails the stage.
    public var hopelessPendingLimit: Double = 10
    /// How long a requeueable job may stay PREEMPTED or NODE_FAIL before pipe takes it as ended.
    public var requeueGrace: Double = 10

    public init(configuration: SlurmConfiguration = SlurmConfiguration(), runLabel: String,
                pipeExecutable: String = LocalExecutor.currentExecutable()) {
        self.configuration = configuration
        self.runLabel = runLabel
        self.pipeExecutable = pipeExecutable
        self.commands = SlurmCommands(binDirectory: configuration.binDirectory)
    }

    /// Jobs this executor submitted, in submission order.
    public var timings: [JobTiming] {
        condition.lock(); defer { condition.unlock() }
        return timingsByJob.values.sorted { $0.submitted < $1.submitted }
    }

    public func execute(_ job: StageJob) -> ExecutionOutcome {
        let batch: SlurmBatchScript
        do {
            batch = try SlurmBatchScript(job: job, runLabel: runLabel, pipeExecutable: pipeExecutable, configuration: configuration)
            try Data(batch.script.utf8).write(to: URL(fileURLWithPath: batch.scriptPath))
            chmod(batch.scriptPath, 0o755)
            unlink(batch.statusPath)
        } catch {
            return .failed("cannot prepare the Slurm job: \(error)")
        }
        let events = try? EventsFileWriter(path: job.eventsPath)

        condition.lock()
        if interrupted { condition.unlock(); return .interrupted }
        condition.unlock()
        let jobID: String
        do {
            jobID = try commands.submit(batch.sbatchArguments)
        } catch {
            return .failed("\(error)")
        }
        condition.lock()
        timingsByJob[jobID] = JobTiming(stage: job.stageName, jobID: jobID, submitted: Date())
        observations[jobID] = Observation()
        let cancelNow = interrupted
        startPollerIfNeeded()
        condition.unlock()
        if cancelNow { commands.cancel([jobID]) }
        events?.append(.progress(phase: "slurm", step: 0, total: nil, message: "slurm job \(jobID) submitted"))

        let outcome = follow(jobID: jobID, batch: batch, events: events)

        let startedOnNode = (try? String(contentsOfFile: batch.statusPath + ".started", encoding: .utf8))
            .flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        condition.lock()
        observations[jobID] = nil
        timingsByJob[jobID]?.ended = Date()
        if let startedOnNode { timingsByJob[jobID]?.started = Date(timeIntervalSince1970: startedOnNode) }
        timingsByJob[jobID]?.outcome = outcome
        condition.unlock()
        return outcome
    }

    /// Waits for the job to end and decides its outcome.
    private func follow(jobID: String, batch: SlurmBatchScript, events: EventsFileWriter?) -> ExecutionOutcome {
        var seenGeneration = -1
        var announced: String?
        var announcedStart = false
        var endedAt: Date?
        var interruptedAt: Date?
        var hopelessSince: Date?
        while true {
            condition.lock()
            if generation == seenGeneration {
                _ = condition.wait(until: Date(timeIntervalSinceNow: configuration.pollInterval))
            }
            seenGeneration = generation
            let observation = observations[jobID] ?? Observation()
            let wasInterrupted = interrupted
            condition.unlock()

            let exitStatus = Self.readExitStatus(batch.statusPath)
            let entry = observation.entry
            if wasInterrupted {
                // Wait (bounded) for the cancelled job to end: the scheduler removes its staging
                // directory as soon as `execute` returns.
                interruptedAt = interruptedAt ?? Date()
                let ended = exitStatus != nil || entry?.state.isTerminal == true || observation.absentPolls >= 3
                if ended || Date().timeIntervalSince(interruptedAt!) > cancelWait { return .interrupted }
                continue
            }
            if let entry, entry.state.hasStarted {
                condition.lock()
                if timingsByJob[jobID]?.started == nil { timingsByJob[jobID]?.started = Date() }
                condition.unlock()
            }
            // Live view: the job's state until its program starts reporting for itself.
            // (Written only until the job starts: after that the stage process owns the file.)
            // Requeued (checkpointed before its time limit, preempted, node failure): the same job
            // id runs again; follow it as a fresh job.
            if let entry, announcedStart, !entry.state.hasStarted {
                events?.append(.progress(phase: "slurm", step: 0, total: nil, message: "slurm job \(jobID) requeued"))
                announcedStart = false
                announced = nil
            }
            if let entry, !announcedStart {
                let note = Self.note(entry)
                if note != announced {
                    events?.append(.progress(phase: "slurm", step: 0, total: nil, message: "slurm job \(jobID) \(note)"))
                    announced = note
                }
                announcedStart = entry.state.hasStarted
            }

            if exitStatus == 0 { return .succeeded() }
            let gone = observation.absentPolls >= 3
            let slurmEnded = entry?.state.isTerminal == true || gone
            if exitStatus != nil || slurmEnded {
                endedAt = endedAt ?? Date()
                let waited = Date().timeIntervalSince(endedAt!)
                // A non-zero status: give Slurm a moment to settle the job's final state (it says
                // whether a signal came from scancel or a time limit). Slurm ended but no status
                // file: give a shared filesystem time to show it.
                // (FAILED needs no long wait: scontrol's ExitCode says the same as the file would.)
                // A requeueable job preempted or on a failed node: give Slurm time to requeue it.
                let grace: Double = exitStatus != nil ? (slurmEnded ? 0 : 3)
                    : (entry?.state == .completed || gone ? configuration.statusFileGrace
                       : (batch.requeues && entry?.state.mayBeRequeued == true ? requeueGrace : 2))
                if waited >= grace {
                    let info = commands.show(jobID)
                    if exitStatus == nil, batch.requeues, let info, !info.state.isTerminal {
                        // squeue lagged behind a requeue: Slurm will run the job again.
                        endedAt = nil
                        continue
                    }
                    return SlurmOutcome.outcome(jobID: jobID, exitStatus: exitStatus, state: entry?.state, info: info,
                                                resources: batch.resources)
                }
                continue
            }
            endedAt = nil  // (a requeueable job that looked ended is queued again)
            if let entry, entry.isHopeless {
                hopelessSince = hopelessSince ?? Date()
                if Date().timeIntervalSince(hopelessSince!) > hopelessPendingLimit {
                    commands.cancel([jobID])
                    return .failed("Slurm will not start job \(jobID): it pends with reason \(entry.reason), which does not clear by itself "
                                   + "(asked for \(Self.describe(batch))); the job was cancelled. Change the stage's resources: or the "
                                   + "partition (--slurm-partition, pipe.config.yaml)")
                }
            } else {
                hopelessSince = nil
            }
            if Date().timeIntervalSince(observation.lastAnswer) > unreachableLimit {
                commands.cancel([jobID])
                return .failed("Slurm job \(jobID): squeue has not answered for \(Int(unreachableLimit)) s (controller down?); the job was cancelled")
            }
        }
    }

    /// What a job asked for, as sbatch flags (for messages).
    static func describe(_ batch: SlurmBatchScript) -> String {
        batch.sbatchArguments.filter {
            ["--cpus-per-task", "--mem", "--time", "--gpus", "--partition", "--account"].contains(String($0.prefix { $0 != "=" }))
        }.joined(separator: " ")
    }

    private static func note(_ entry: SlurmQueueEntry) -> String {
        if entry.state.hasStarted { return "\(entry.state)" + (entry.nodes.isEmpty ? "" : " on \(entry.nodes)") }
        return "\(entry.state)" + (entry.reason.isEmpty || entry.reason == "None" ? "" : " (\(entry.reason))")
    }

    /// The status the batch script recorded, if its file is there. The directory is listed rather
    /// than the name looked up: an NFS client may cache "no such file" for a name it looked up before,
    /// while listing a directory revalidates it.
    static func readExitStatus(_ path: String) -> Int32? {
        let directory = (path as NSString).deletingLastPathComponent
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory),
              names.contains((path as NSString).lastPathComponent) else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `scancel` of every job still in flight; each `execute` then returns `.interrupted` once its
    /// job has ended (or after `cancelWait`).
    public func interrupt() {
        condition.lock()
        interrupted = true
        let inFlight = Array(observations.keys)
        condition.broadcast()
        condition.unlock()
        commands.cancel(inFlight.sorted())
    }

    // MARK: polling

    /// Called with `condition` locked.
    private func startPollerIfNeeded() {
        guard !pollerRunning else { return }
        pollerRunning = true
        let thread = Thread { [self] in pollLoop() }
        thread.name = "pipe.slurm.poller"
        thread.start()
    }

    private func pollLoop() {
        while true {
            condition.lock()
            let ids = observations.keys.sorted()
            if ids.isEmpty {
                pollerRunning = false
                condition.unlock()
                return
            }
            condition.unlock()

            let answer = commands.queue(ids)

            condition.lock()
            if let answer {
                let now = Date()
                for id in ids where observations[id] != nil {
                    observations[id]!.lastAnswer = now
                    if let entry = answer[id] {
                        observations[id]!.entry = entry
                        observations[id]!.absentPolls = 0
                    } else {
                        observations[id]!.absentPolls += 1
                    }
                }
            }
            generation += 1
            condition.broadcast()
            condition.unlock()
            // Not usleep: its UInt32 microseconds end at 71 minutes.
            Thread.sleep(forTimeInterval: max(0.05, configuration.pollInterval))
        }
    }
}
