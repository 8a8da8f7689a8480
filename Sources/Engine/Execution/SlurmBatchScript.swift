import Foundation
import Pipeline

/// The batch script and `sbatch` arguments for one stage job. The script runs exactly what
/// `LocalExecutor` runs (same program, working directory and environment, stdout+stderr to the
/// job's log), then records the program's exit status in a file beside the log: Slurm forgets
/// finished jobs after `MinJobAge`, and the file is what says the program really ended and how.
///
/// Files, all in the stage's staging directory (under the store's tmp/, on the shared filesystem):
///
///     slurm-job.sh        this script (kept for debugging; removed with the staging directory)
///     slurm-exit-status   the program's exit status, written atomically (tmp file + rename)
///     slurm-exit-status.started   when the job started on its node (seconds since 1970)
///     slurm-checkpointed  written by the stage once it has checkpointed on USR1 (requeue only)
///
/// With `SlurmConfiguration.requeue`, Slurm sends USR1 to the script `requeueSignal` seconds before the
/// time limit. The script forwards it to the stage process, waits (bounded) for the stage to write its
/// checkpoint and the marker, then runs `scontrol requeue` on its own job and writes no exit status
/// (a stage that writes no marker in time is not requeued: it would start over, maybe forever):
/// the job pends again, reruns this script from the start, and the stage resumes from the checkpoint.
/// `pipe run` keeps following the same job id through REQUEUED and PENDING. Command stages are
/// submitted with `--no-requeue`: they cannot checkpoint, and USR1 would end them.
public struct SlurmBatchScript: Sendable, Equatable {
    public var jobName: String
    public var scriptPath: String
    public var statusPath: String
    public var script: String
    /// Arguments of `sbatch` (without the program name), ending with the script's path.
    public var sbatchArguments: [String]
    /// What the job asks for after defaults were applied (for messages).
    public var resources: SlurmResources
    /// Submitted with `--requeue`: the job may run again under the same id after a USR1 checkpoint.
    public var requeues: Bool

    public static let scriptName = "slurm-job.sh"
    public static let statusName = "slurm-exit-status"
    public static let markerName = "slurm-checkpointed"
    /// The stage process's environment names the marker file it writes after a requested checkpoint.
    public static let markerVariable = "PIPE_CHECKPOINT_MARKER"

    public init(job: StageJob, runLabel: String, pipeExecutable: String, configuration: SlurmConfiguration) throws {
        let directory = (job.logPath as NSString).deletingLastPathComponent
        scriptPath = directory + "/" + Self.scriptName
        statusPath = directory + "/" + Self.statusName
        jobName = Self.jobName(run: runLabel, stage: job.stageName)

        // Cores: as many as the stage's threads unless the stage says otherwise.
        let threads = job.environment.first { $0.hasPrefix("PIPE_THREADS=") }
            .flatMap { Int($0.dropFirst("PIPE_THREADS=".count)) }
        var requested = SlurmResources(job.resources).overriding(configuration.defaults)
        if requested.cpus == nil { requested.cpus = max(1, threads ?? 1) }
        resources = requested

        var arguments = ["--parsable", "--job-name=\(jobName)", "--chdir=\(job.workingDirectory)",
                         "--output=\(job.logPath)", "--error=\(job.logPath)", "--open-mode=append",
                         "--nodes=1", "--ntasks=1", "--cpus-per-task=\(requested.cpus!)"]
        if let mem = requested.mem { arguments.append("--mem=\(try SlurmResources.slurmMemory(mem))") }
        if let time = requested.time { arguments.append("--time=\(try SlurmResources.slurmTime(time))") }
        if let gpus = requested.gpus, gpus > 0 { arguments.append("--gpus=\(gpus)") }
        // Only built-in stages requeue: their process takes USR1 as a checkpoint request and starts
        // clean when run again, while a command stage would die of USR1 and find its old outputs.
        // Without requeue, pipe resubmits what is missing on the next run; a requeue that nobody
        // asked for (a node failure) would rerun the stage into the same staging directory.
        var requeues = false
        if configuration.requeue, case .builtin = job.program { requeues = true }
        arguments += requeues ? ["--requeue", "--signal=B:USR1@\(configuration.requeueSignal)"] : ["--no-requeue"]
        self.requeues = requeues
        let override = configuration.stageOverrides[job.stageName]
        if let partition = override?.partition ?? configuration.partition { arguments.append("--partition=\(partition)") }
        if let account = configuration.account { arguments.append("--account=\(account)") }
        arguments += configuration.flags + (override?.flags ?? [])
        arguments.append(scriptPath)
        sbatchArguments = arguments

        let program: [String]
        switch job.program {
        case .builtin(let invocationPath): program = [pipeExecutable, "_stage", invocationPath]
        case .command(let command): program = ["/bin/sh", "-c", command]
        }
        let requeue = requeues
            ? Requeue(markerPath: directory + "/" + Self.markerName,
                      checkpointWait: Self.checkpointWait(signalSeconds: configuration.requeueSignal),
                      scontrol: configuration.binDirectory.map { $0 + "/scontrol" } ?? "scontrol")
            : nil
        script = Self.render(job: job, program: program, statusPath: statusPath, jobName: jobName,
                             sbatch: arguments, requeue: requeue)
    }

    /// `pipe-<run>-<stage>`, restricted to characters every Slurm tool prints unquoted.
    public static func jobName(run: String, stage: String) -> String {
        let raw = "pipe-\(run)-\(stage)"
        return String(raw.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "_" })
    }

    /// How the script checkpoints and requeues its job on USR1.
    struct Requeue {
        var markerPath: String
        /// Seconds to wait for the stage's marker; without it the job is not requeued.
        var checkpointWait: Int
        var scontrol: String
    }

    /// Most of the warning time goes to the checkpoint; the rest is left for `scontrol requeue`
    /// and Slurm's own teardown before the limit.
    static func checkpointWait(signalSeconds: Int) -> Int { max(5, signalSeconds - 15) }

    static func render(job: StageJob, program: [String], statusPath: String, jobName: String, sbatch: [String],
                       requeue: Requeue? = nil) -> String {
        let q = ShellQuote.quote
        var lines = [
            "#!/bin/bash",
            "# Generated by pipe: stage '\(job.stageName)' as Slurm job \(jobName).",
            "# Submitted with: sbatch " + sbatch.map(q).joined(separator: " "),
            "# Runs the stage process exactly as the local executor does: same program, working",
            "# directory and environment (plus Slurm's SLURM_* variables), then writes its exit status.",
            "status_file=\(q(statusPath))",
            "date +%s.%N > \"$status_file.started\" 2>/dev/null  # when the job really started (for timings)",
            "record() { printf '%s\\n' \"$1\" > \"$status_file.$SLURM_JOB_ID\" && mv -f \"$status_file.$SLURM_JOB_ID\" \"$status_file\"; }",
            "cd \(q(job.workingDirectory)) || { echo \"pipe: cannot enter the stage's working directory on $(hostname): is the store on a filesystem this node shares?\" >&2; record 126; exit 126; }",
            "slurm_env=()",
            "while IFS= read -r name; do slurm_env+=(\"$name=${!name}\"); done < <(compgen -e | grep '^SLURM_')",
            "/usr/bin/env -i \\",
        ]
        if requeue != nil {
            // Before the stage starts: Slurm's USR1 may come at any time, and untrapped it ends bash.
            // (A trapped signal is reset to its default in the stage process by exec.)
            lines.insert(contentsOf: ["usr1=0", "trap 'usr1=1' USR1"], at: 5)
        }
        var environment = job.environment.filter { !$0.hasPrefix("SLURM_") && !$0.hasPrefix(markerVariable + "=") }
        if let requeue { environment.append(markerVariable + "=" + requeue.markerPath) }
        for entry in environment {
            lines.append("  " + q(entry) + " \\")
        }
        lines.append("  \"${slurm_env[@]}\" \\")
        guard let requeue else {
            lines.append("  " + program.map(q).joined(separator: " ") + " < /dev/null")
            lines += ["status=$?", "record \"$status\"", "exit \"$status\""]
            return lines.joined(separator: "\n") + "\n"
        }
        // In the background, so that bash runs the USR1 trap while the stage runs (a trap waits
        // for a foreground child); `wait` returns early on a trapped signal, hence the loop.
        lines.append("  " + program.map(q).joined(separator: " ") + " < /dev/null &")
        lines += [
            "child=$!",
            "marker=\(q(requeue.markerPath))",
            "while :; do",
            "  wait \"$child\"",
            "  status=$?",
            "  if [ \"$usr1\" = 1 ]; then",
            "    # Slurm's warning before the time limit: ask the stage for a checkpoint, wait for its",
            "    # marker (or its end), then requeue this job. A requeued job writes no exit status.",
            "    rm -f \"$marker\"",
            "    kill -USR1 \"$child\" 2>/dev/null",
            "    deadline=$((SECONDS + \(requeue.checkpointWait)))",
            "    while [ ! -e \"$marker\" ] && kill -0 \"$child\" 2>/dev/null && [ \"$SECONDS\" -lt \"$deadline\" ]; do sleep 0.2; done",
            "    # A stage that ended meanwhile is not requeued: its status is what `wait` gives next.",
            "    # Nor is one that wrote no checkpoint: it would start over, and might forever.",
            "    if [ -e \"$marker\" ] && kill -0 \"$child\" 2>/dev/null; then",
            "      echo \"pipe: job $SLURM_JOB_ID nears its time limit: checkpointed, requeueing\"",
            "      if \(q(requeue.scontrol)) requeue \"$SLURM_JOB_ID\"; then",
            "        # Slurm now ends this attempt (and the stage) and queues the job again.",
            "        while :; do sleep 1; done",
            "      fi",
            "      echo \"pipe: scontrol requeue failed; the stage runs on until the time limit\" >&2",
            "    elif kill -0 \"$child\" 2>/dev/null; then",
            "      echo \"pipe: job $SLURM_JOB_ID nears its time limit, but the stage wrote no checkpoint in \(requeue.checkpointWait) s: not requeued\" >&2",
            "    fi",
            "    usr1=0  # (a second USR1 during all this is the same request)",
            "    continue  # bash keeps an ended child's status for the next `wait`",
            "  fi",
            "  break",
            "done",
            "record \"$status\"",
            "exit \"$status\"",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
