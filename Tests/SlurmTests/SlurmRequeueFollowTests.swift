import Engine
import Foundation
import Testing
import WorkspaceTestSupport

/// `SlurmExecutor` follows one job id through a requeue, against stand-in Slurm commands that play a
/// scripted sequence of states (no cluster needed): a requeueable job that squeue shows PREEMPTED
/// while scontrol already has it PENDING again is waited for, not failed.
@Suite("Slurm: following a requeued job")
struct SlurmRequeueFollowTests {
    /// Fake sbatch/squeue/scontrol in `root/bin`. Each squeue call plays the next line of `states`
    /// (`SQUEUE_STATE SCONTROL_STATE`, the last line repeats); the line `COMPLETED` also writes the
    /// batch script's exit status 0, as the script would.
    static func fakeSlurm(in root: String, states: [String], statusPath: String) throws -> String {
        let bin = root + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try Data(states.joined(separator: "\n").appending("\n").utf8).write(to: URL(fileURLWithPath: root + "/states"))
        let scripts = [
            "sbatch": "echo 77\n",
            "squeue": """
            n=$(cat \(root)/count 2>/dev/null || echo 0); total=$(wc -l < \(root)/states)
            # Replaced atomically: scontrol must never read a truncated count (it would print every line).
            [ "$n" -lt "$total" ] && echo $((n + 1)) > \(root)/count.tmp && mv \(root)/count.tmp \(root)/count
            line=$(sed -n "$(( n < total ? n + 1 : total ))p" \(root)/states)
            state=${line%% *}
            [ "$state" = COMPLETED ] && echo 0 > \(statusPath)
            echo "77|$state|vm|None"

            """,
            "scontrol": """
            n=$(cat \(root)/count 2>/dev/null || echo 1); line=$(sed -n "${n}p" \(root)/states)
            echo "JobId=77 JobState=${line##* } Reason=None Requeue=1 Restarts=1 ExitCode=0:0 NodeList=vm"

            """,
            "scancel": "exit 0\n",
        ]
        for (name, body) in scripts {
            try Data(("#!/bin/bash\n" + body).utf8).write(to: URL(fileURLWithPath: bin + "/" + name))
            chmod(bin + "/" + name, 0o755)
        }
        return bin
    }

    /// The outcome, and the events file's text (the executor's live-view notes).
    static func follow(_ states: [String], program: StageJob.Program) throws -> (ExecutionOutcome, String) {
        let root = try TestWorkspace.temporaryDirectory("pipe-slurm-follow")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/work", withIntermediateDirectories: true)
        let bin = try fakeSlurm(in: root, states: states, statusPath: root + "/" + SlurmBatchScript.statusName)
        let executor = SlurmExecutor(configuration: SlurmConfiguration(pollInterval: 0.05, binDirectory: bin), runLabel: "r",
                                     pipeExecutable: "/opt/pipe")
        executor.requeueGrace = 2
        let job = StageJob(stageName: "sft", program: program, workingDirectory: root + "/work", environment: [],
                           logPath: root + "/log.txt", eventsPath: root + "/events.jsonl")
        let outcome = executor.execute(job)
        let events = (try? String(contentsOfFile: job.eventsPath, encoding: .utf8)) ?? ""
        return (outcome, events)
    }

    @Test func aRequeuedJobIsFollowedUntilItsSecondAttemptCompletes() throws {
        // squeue shows PREEMPTED for longer than `requeueGrace` (about 60 polls): scontrol decides.
        let states = ["PENDING PENDING", "RUNNING RUNNING", "RUNNING RUNNING", "REQUEUED REQUEUED", "PENDING PENDING"]
            + Array(repeating: "PREEMPTED PENDING", count: 60) + ["PENDING PENDING", "RUNNING RUNNING", "COMPLETED COMPLETED"]
        let (outcome, events) = try Self.follow(states, program: .builtin(invocationPath: "/s/invocation.json"))
        #expect(outcome == .succeeded())
        #expect(events.contains("slurm job 77 requeued"), "\(events)")
    }

    @Test func aPreemptedJobThatIsNotRequeuedFails() throws {
        // Submitted with --no-requeue (a command stage): PREEMPTED is the end.
        let (outcome, _) = try Self.follow(["RUNNING RUNNING", "PREEMPTED PREEMPTED"], program: .command("true"))
        guard case .failed(let message) = outcome else { Issue.record("\(outcome)"); return }
        #expect(message.contains("was preempted"), "\(message)")
    }
}
