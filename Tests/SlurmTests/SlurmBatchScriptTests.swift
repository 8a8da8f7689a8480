import Engine
import Foundation
import Testing
import WorkspaceTestSupport

/// The generated sbatch arguments and batch script; the script is also run here with bash, as
/// slurmd would run it, to check it reproduces the local executor's process. Needs no cluster.
@Suite("Slurm: batch script generation")
struct SlurmBatchScriptTests {
    static func job(in directory: String, program: StageJob.Program = .command("echo hi"),
                    resources: [String: String] = [:], environment: [String] = ["PATH=/usr/bin:/bin", "OPENBLAS_NUM_THREADS=2"]) -> StageJob {
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
}
