import Engine
import Foundation
import Testing
import WorkspaceTestSupport

/// The generated sbatch arguments and batch script; the script is also run here with bash, as
/// slurmd would run it, to check it reproduces the local executor's process. Needs no cluster.
@Suite("Slurm: batch script generation")
struct SlurmBatchScriptTests {
    static func job(in directory: String, program: StageJob.Program = .command("echo hi"),
                    resources: [String: String] = [:], environment: [String] = ["PATH=/usr/bin:/bin", "PIPE_THREADS=2"]) -> StageJob {
        StageJob(stageName: "ppo", program: program, workingDirectory: directory + "/work", environment: environment,
                 logPath: directory + "/log.txt", eventsPath: directory + "/events.jsonl", resources: resources)
    }

    @Test func sbatchArgumentsCarryNameLogResourcesAndSettings() throws {
        let configuration = SlurmConfiguration(partition: "debug", account: "lab", flags: ["--qos=short"],
                                               defaults: SlurmResources(mem: "1G", time: "1h"),
                                               stageOverrides: ["ppo": .init(partition: "gpu", flags: ["--gres=gpu:1"])])
        let batch = try SlurmBatchScript(job: Self.job(in: "/store/tmp/s", resources: ["cpus": "4", "time": "30m", "gpus": "1"]),
                                         runLabel: "20261122-0100-ab/x", pipeExecutable: "/opt/pipe", configuration: configuration)
        #expect(batch.jobName == "pipe-20261122-0100-ab_x-ppo")
        #expect(batch.scriptPath == "/store/tmp/s/slurm-job.sh")
        #expect(batch.statusPath == "/store/tmp/s/slurm-exit-status")
        let arguments = batch.sbatchArguments
        for expected in ["--parsable", "--job-name=pipe-20261122-0100-ab_x-ppo", "--chdir=/store/tmp/s/work",
                         "--output=/store/tmp/s/log.txt", "--error=/store/tmp/s/log.txt", "--no-requeue",
                         "--cpus-per-task=4", "--mem=1G", "--time=00:30:00", "--gpus=1",
                         "--partition=gpu", "--account=lab", "--qos=short", "--gres=gpu:1"] {
            #expect(arguments.contains(expected), "\(expected) missing from \(arguments)")
        }
        #expect(!arguments.contains("--partition=debug"), "the stage's partition replaces the cluster-wide one")
        #expect(arguments.last == "/store/tmp/s/slurm-job.sh")
    }

    @Test func coresDefaultToTheStageThreadsAndNothingElseIsAskedFor() throws {
        let batch = try SlurmBatchScript(job: Self.job(in: "/s"), runLabel: "r", pipeExecutable: "/opt/pipe",
                                         configuration: SlurmConfiguration())
        #expect(batch.sbatchArguments.contains("--cpus-per-task=2"))
        #expect(!batch.sbatchArguments.contains { $0.hasPrefix("--mem") || $0.hasPrefix("--time") || $0.hasPrefix("--partition") || $0.hasPrefix("--gpus") })
    }

    @Test func builtinStagesRunThePipeBinary() throws {
        let batch = try SlurmBatchScript(job: Self.job(in: "/s", program: .builtin(invocationPath: "/s/invocation.json")),
                                         runLabel: "r", pipeExecutable: "/opt/pipe bin/pipe", configuration: SlurmConfiguration())
        #expect(batch.script.contains("'/opt/pipe bin/pipe' _stage /s/invocation.json < /dev/null"))
    }

    /// Runs the script with bash, with a fake SLURM_JOB_ID as slurmd would set: the command sees
    /// exactly the job's environment (plus SLURM_*), runs in the working directory, writes the log
    /// through stdout, and the exit status lands in the status file.
    @Test(arguments: [0, 7])
    func theScriptRunsTheStageProcessLikeTheLocalExecutor(exitCode: Int) throws {
        let root = try TestWorkspace.temporaryDirectory("pipe-slurm-script")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/work", withIntermediateDirectories: true)
        let command = #"pwd; echo "value=[$ODD_VALUE]"; env | grep -c '^LEAKED=' ; echo "job=$SLURM_JOB_ID stale=[$SLURM_STALE]"; exit "# + String(exitCode)
        let job = Self.job(in: root, program: .command(command),
                           environment: ["PATH=/usr/bin:/bin", "ODD_VALUE=it's a \"quoted\" $value\nwith a newline", "SLURM_STALE=1"])
        let batch = try SlurmBatchScript(job: job, runLabel: "r", pipeExecutable: "/opt/pipe", configuration: SlurmConfiguration())
        try Data(batch.script.utf8).write(to: URL(fileURLWithPath: batch.scriptPath))

        // As slurmd runs it: bash, stdout+stderr to --output, SLURM_JOB_ID set, the submitter's
        // environment (LEAKED) present but not to be passed on.
        let termination = try ChildProcess.spawn(executable: "/bin/bash", arguments: [batch.scriptPath],
                                                 environment: ["PATH=/usr/bin:/bin", "LEAKED=from the submitting shell", "SLURM_JOB_ID=4242"],
                                                 directory: root, logPath: job.logPath).wait()
        #expect(termination == .exited(Int32(exitCode)))

        let output = try String(contentsOfFile: job.logPath, encoding: .utf8)
        #expect(output.hasPrefix(((root + "/work") as NSString).resolvingSymlinksInPath + "\n") || output.hasPrefix(root + "/work\n"), "\(output)")
        #expect(output.contains("value=[it's a \"quoted\" $value\nwith a newline]"), "\(output)")
        #expect(output.contains("\n0\n"), "the submitting shell's environment must not leak in: \(output)")
        #expect(output.contains("job=4242 stale=[]"), "this job's Slurm variables reach the stage, the submitter's do not: \(output)")
        #expect(try String(contentsOfFile: batch.statusPath, encoding: .utf8) == "\(exitCode)\n")
        #expect(!FileManager.default.fileExists(atPath: batch.statusPath + ".4242"), "status is renamed into place")
    }

    @Test func builtinStagesRequeueWithASignalBeforeTheLimitAndCommandsDoNot() throws {
        let builtin = try SlurmBatchScript(job: Self.job(in: "/s", program: .builtin(invocationPath: "/s/invocation.json")),
                                           runLabel: "r", pipeExecutable: "/opt/pipe", configuration: SlurmConfiguration())
        #expect(builtin.requeues)
        #expect(builtin.sbatchArguments.contains("--requeue") && builtin.sbatchArguments.contains("--signal=B:USR1@60"))
        #expect(!builtin.sbatchArguments.contains("--no-requeue"))
        let script = builtin.script
        #expect(script.contains("trap 'usr1=1' USR1"))
        #expect(script.contains("PIPE_CHECKPOINT_MARKER=/s/slurm-checkpointed \\\n"))
        #expect(script.contains("/opt/pipe _stage /s/invocation.json < /dev/null &"), "runs in the background so the trap runs")
        #expect(script.contains("kill -USR1 \"$child\""))
        #expect(script.contains("deadline=$((SECONDS + 45))"))
        #expect(script.contains("scontrol requeue \"$SLURM_JOB_ID\""))
        // The exit status is recorded once, after the loop, which a requeue never leaves.
        #expect(script.components(separatedBy: "record \"$status\"").count == 2)
        let requeueLine = try #require(script.range(of: "requeue \"$SLURM_JOB_ID\"; then"))
        let recordLine = try #require(script.range(of: "record \"$status\"", options: .backwards))
        #expect(script[requeueLine.upperBound..<recordLine.lowerBound].contains("while :; do sleep 1; done"))

        let configured = SlurmConfiguration(binDirectory: "/opt/slurm/bin", requeueSignal: 40)
        let soon = try SlurmBatchScript(job: Self.job(in: "/s", program: .builtin(invocationPath: "/s/i.json")),
                                        runLabel: "r", pipeExecutable: "/opt/pipe", configuration: configured)
        #expect(soon.sbatchArguments.contains("--signal=B:USR1@40") && soon.script.contains("/opt/slurm/bin/scontrol requeue"))
        #expect(soon.script.contains("deadline=$((SECONDS + 25))"))

        let command = try SlurmBatchScript(job: Self.job(in: "/s"), runLabel: "r", pipeExecutable: "/opt/pipe",
                                           configuration: SlurmConfiguration())
        #expect(!command.requeues && command.sbatchArguments.contains("--no-requeue"))
        #expect(!command.sbatchArguments.contains { $0.hasPrefix("--signal") } && !command.script.contains("trap"))
        let off = try SlurmBatchScript(job: Self.job(in: "/s", program: .builtin(invocationPath: "/s/i.json")), runLabel: "r",
                                       pipeExecutable: "/opt/pipe", configuration: SlurmConfiguration(requeue: false))
        #expect(!off.requeues && off.sbatchArguments.contains("--no-requeue") && !off.script.contains("PIPE_CHECKPOINT_MARKER"))
    }

    /// A stand-in for `pipe _stage`: on USR1 it writes the marker (optionally only after a delay, or
    /// not at all), and otherwise runs for `seconds` then exits 0.
    static func fakeStage(in root: String, onUSR1: String, seconds: Double) throws -> String {
        let path = root + "/fake-pipe"
        try Data("""
        #!/bin/bash
        trap '\(onUSR1)' USR1
        echo "stage started with $PIPE_CHECKPOINT_MARKER"
        end=$(( $(date +%s%N) + \(Int(seconds * 1e9)) ))
        while [ "$(date +%s%N)" -lt "$end" ]; do sleep 0.05; done
        echo "stage done"

        """.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
        return path
    }

    /// A stand-in for `scontrol`: logs its arguments, then ends the batch script the way Slurm ends a
    /// requeued job's attempt.
    static func fakeScontrol(in root: String) throws -> String {
        let bin = root + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try Data("""
        #!/bin/bash
        echo "$@" >> \(root)/scontrol.log
        kill -KILL $PPID

        """.utf8).write(to: URL(fileURLWithPath: bin + "/scontrol"))
        chmod(bin + "/scontrol", 0o755)
        return bin
    }

    /// Runs the script as slurmd would and sends it USR1 (as `--signal=B:USR1@N` does) once the stage runs.
    static func runSignalled(root: String, stage: String, bin: String) throws -> (ChildProcess.Termination, SlurmBatchScript) {
        try FileManager.default.createDirectory(atPath: root + "/work", withIntermediateDirectories: true)
        let job = Self.job(in: root, program: .builtin(invocationPath: root + "/invocation.json"))
        let batch = try SlurmBatchScript(job: job, runLabel: "r", pipeExecutable: stage,
                                         configuration: SlurmConfiguration(binDirectory: bin, requeueSignal: 16))
        try Data(batch.script.utf8).write(to: URL(fileURLWithPath: batch.scriptPath))
        let child = try ChildProcess.spawn(executable: "/bin/bash", arguments: [batch.scriptPath],
                                           environment: ["PATH=/usr/bin:/bin", "SLURM_JOB_ID=4243"], directory: root, logPath: job.logPath)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !((try? String(contentsOfFile: job.logPath, encoding: .utf8)) ?? "").contains("stage started") {
            usleep(20_000)
        }
        kill(child.pid, SIGUSR1)
        let termination = child.wait()
        child.signalGroup(SIGKILL)  // what Slurm does to the rest of a requeued attempt
        return (termination, batch)
    }

    /// USR1: the stage is asked for a checkpoint, its marker is awaited, the job requeues itself and
    /// no exit status is written (the attempt did not end the stage).
    @Test func onUSR1TheScriptAwaitsTheCheckpointRequeuesAndWritesNoStatus() throws {
        let root = try TestWorkspace.temporaryDirectory("pipe-slurm-requeue")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let stage = try Self.fakeStage(in: root, onUSR1: #"sleep 0.5; echo 7 > "$PIPE_CHECKPOINT_MARKER""#, seconds: 20)
        let started = Date()
        let (termination, batch) = try Self.runSignalled(root: root, stage: stage, bin: try Self.fakeScontrol(in: root))
        #expect(termination == .signalled(SIGKILL), "ended by the requeue")
        #expect(Date().timeIntervalSince(started) < 8, "the requeue follows the marker, not the stage's end or the wait bound")
        #expect(try String(contentsOfFile: root + "/scontrol.log", encoding: .utf8) == "requeue 4243\n")
        #expect(try String(contentsOfFile: root + "/slurm-checkpointed", encoding: .utf8) == "7\n")
        #expect(!FileManager.default.fileExists(atPath: batch.statusPath), "a requeued attempt writes no exit status")
        let log = try String(contentsOfFile: root + "/log.txt", encoding: .utf8)
        #expect(log.contains("pipe: job 4243 nears its time limit: checkpointed, requeueing"), "\(log)")
    }

    /// A stage that ends while the script waits for its checkpoint is not requeued, nor is one that
    /// writes no checkpoint in time (it would start over): the stage runs on and its status is recorded.
    @Test(arguments: [1.5, 7])
    func aStageThatDoesNotCheckpointIsNotRequeued(seconds: Double) throws {
        let root = try TestWorkspace.temporaryDirectory("pipe-slurm-requeue-end")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let stage = try Self.fakeStage(in: root, onUSR1: "", seconds: seconds)  // the wait for the marker is 5 s
        let (termination, batch) = try Self.runSignalled(root: root, stage: stage, bin: try Self.fakeScontrol(in: root))
        #expect(termination == .exited(0))
        #expect(try String(contentsOfFile: batch.statusPath, encoding: .utf8) == "0\n")
        #expect(!FileManager.default.fileExists(atPath: root + "/scontrol.log"), "no requeue")
        let log = try String(contentsOfFile: root + "/log.txt", encoding: .utf8)
        #expect(log.contains("stage done"))
        #expect(log.contains("the stage wrote no checkpoint in 5 s: not requeued") == (seconds > 5), "\(log)")
    }
}
