import Engine
import Foundation
import Testing

/// Parsing Slurm's output and mapping job ends to outcomes; needs no cluster.
@Suite("Slurm: states, squeue/scontrol parsing, outcomes, resources")
struct SlurmParsingTests {
    @Test func statesParseFromLongAndShortNamesAndOnlyEndStatesAreTerminal() {
        #expect(SlurmJobState("PENDING") == .pending)
        #expect(SlurmJobState("R") == .running)
        #expect(SlurmJobState("CANCELLED by 0") == .cancelled)
        #expect(SlurmJobState("OUT_OF_MEMORY") == .outOfMemory)
        #expect(SlurmJobState("NODE_FAIL") == .nodeFail)
        #expect(SlurmJobState("TIMEOUT") == .timeout)
        #expect(SlurmJobState("SOMETHING_NEW") == .other("SOMETHING_NEW"))
        for state in ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "PREEMPTED"] {
            #expect(SlurmJobState(state).isTerminal, "\(state)")
        }
        for state in ["PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "REQUEUED", "SOMETHING_NEW"] {
            #expect(!SlurmJobState(state).isTerminal, "\(state)")
        }
        #expect(!SlurmJobState("PENDING").hasStarted)
        #expect(SlurmJobState("RUNNING").hasStarted)
    }

    @Test func squeueLinesParseAndErrorLinesAreSkipped() {
        let output = """
        12|RUNNING|vm|None
        13|PENDING||Resources
        slurm_load_jobs error: Invalid job id specified
        14|PENDING||Dependency|odd reason with | bar

        """
        let entries = SlurmQueueEntry.parse(output)
        #expect(entries.count == 3)
        #expect(entries[0] == SlurmQueueEntry(jobID: "12", state: .running, nodes: "vm", reason: "None"))
        #expect(entries[1] == SlurmQueueEntry(jobID: "13", state: .pending, nodes: "", reason: "Resources"))
        #expect(entries[2].reason == "Dependency|odd reason with | bar")
    }

    @Test func pendingForAReasonThatNeverClearsIsHopeless() {
        #expect(SlurmQueueEntry(jobID: "1", state: .pending, reason: "PartitionConfig").isHopeless)
        #expect(SlurmQueueEntry(jobID: "1", state: .pending, reason: "InvalidAccount").isHopeless)
        #expect(!SlurmQueueEntry(jobID: "1", state: .pending, reason: "Resources").isHopeless)
        #expect(!SlurmQueueEntry(jobID: "1", state: .pending, reason: "Priority").isHopeless)
        #expect(!SlurmQueueEntry(jobID: "1", state: .running, reason: "PartitionConfig").isHopeless)
    }

    /// A real `scontrol show job -o` line from Debian 12's Slurm 22.05 (trimmed).
    static let failedJob = "JobId=7 JobName=pipe-r-bad UserId=root(0) GroupId=root(0) Priority=4294901753 Nice=0 Account=(null) "
        + "QOS=(null) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=0 Restarts=0 BatchFlag=1 Reboot=0 "
        + "ExitCode=3:0 RunTime=00:00:01 TimeLimit=UNLIMITED TimeMin=N/A Partition=debug ReqNodeList=(null) "
        + "ExcNodeList=(null) NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=1 StdOut=/tmp/x/log.txt Power=\n"

    @Test func scontrolShowJobGivesStateReasonExitCodeAndNodes() throws {
        let info = try #require(SlurmJobInfo.parse(Self.failedJob))
        #expect(info.state == .failed)
        #expect(info.reason == "NonZeroExitCode")
        #expect(info.exitCode == 3)
        #expect(info.exitSignal == 0)
        #expect(info.nodes == "vm")  // not ReqNodeList=(null)
        #expect(info.timeLimit == "UNLIMITED")
        let cancelled = try #require(SlurmJobInfo.parse("JobId=8 JobState=CANCELLED Reason=None ExitCode=0:15 NodeList=vm"))
        #expect(cancelled.state == .cancelled && cancelled.reason == nil && cancelled.exitSignal == 15)
        #expect(SlurmJobInfo.parse("slurm_load_jobs error: Invalid job id specified") == nil)
    }

    @Test func scontrolShowJobSaysWhetherAndHowOftenTheJobWasRequeued() throws {
        #expect(try #require(SlurmJobInfo.parse(Self.failedJob)).requeue == false)
        let requeued = try #require(SlurmJobInfo.parse("JobId=9 JobState=PENDING Reason=BeginTime Requeue=1 Restarts=2 ExitCode=0:0"))
        #expect(requeued.state == .pending && requeued.requeue && requeued.restarts == 2)
        #expect(!requeued.state.isTerminal, "a requeued job is followed on")
        #expect(SlurmJobState("PREEMPTED").mayBeRequeued && SlurmJobState("NODE_FAIL").mayBeRequeued)
        #expect(!SlurmJobState("TIMEOUT").mayBeRequeued && !SlurmJobState("CANCELLED").mayBeRequeued)
        #expect(SlurmJobState("REQUEUED") == .requeued && !SlurmJobState("REQUEUED").hasStarted)
    }

    @Test func outcomesSayWhatHappenedInSlurmTerms() {
        let none = SlurmResources()
        func message(_ outcome: ExecutionOutcome) -> String {
            if case .failed(let text) = outcome { return text }
            return "\(outcome)"
        }
        // The exit-status file is the ground truth for success, whatever Slurm says afterwards.
        #expect(SlurmOutcome.outcome(jobID: "1", exitStatus: 0, state: nil, info: nil, resources: none) == .succeeded())
        #expect(SlurmOutcome.outcome(jobID: "1", exitStatus: 0, state: .completing, info: nil, resources: none) == .succeeded())

        let failed = message(SlurmOutcome.outcome(jobID: "7", exitStatus: 3, state: .failed,
                                                  info: SlurmJobInfo.parse(Self.failedJob), resources: none))
        #expect(failed == "exited with status 3 in Slurm job 7 on vm")
        let killed = message(SlurmOutcome.outcome(jobID: "9", exitStatus: 137, state: .failed, info: nil, resources: none))
        #expect(killed.contains("killed by signal 9") && killed.contains("SIGKILL"))

        let cancelled = message(SlurmOutcome.outcome(jobID: "8", exitStatus: nil, state: .cancelled, info: nil, resources: none))
        #expect(cancelled.contains("Slurm job 8 was cancelled") && cancelled.contains("no result"))
        // Slurm's final state wins over a status the killed program still managed to write.
        let cancelledWithStatus = message(SlurmOutcome.outcome(jobID: "8", exitStatus: 143, state: .cancelled, info: nil, resources: none))
        #expect(cancelledWithStatus.contains("cancelled"))
        let timeout = message(SlurmOutcome.outcome(jobID: "5", exitStatus: nil, state: .timeout, info: nil,
                                                   resources: SlurmResources(time: "30m")))
        #expect(timeout.contains("time limit (30m)") && timeout.contains("resources: { time:"))
        let oom = message(SlurmOutcome.outcome(jobID: "5", exitStatus: nil, state: .outOfMemory, info: nil,
                                               resources: SlurmResources(mem: "1G")))
        #expect(oom.contains("ran out of memory (--mem=1G)"))
        #expect(message(SlurmOutcome.outcome(jobID: "5", exitStatus: nil, state: .nodeFail, info: nil, resources: none)).contains("node failed"))
        let noFile = message(SlurmOutcome.outcome(jobID: "5", exitStatus: nil, state: .completed, info: nil, resources: none))
        #expect(noFile.contains("wrote no exit status") && noFile.contains("share"))
        let purged = message(SlurmOutcome.outcome(jobID: "5", exitStatus: nil, state: nil, info: nil, resources: none))
        #expect(purged.contains("left Slurm's queue"))
        let signalled = message(SlurmOutcome.outcome(jobID: "5", exitStatus: nil, state: .failed,
                                                     info: SlurmJobInfo.parse("JobState=FAILED Reason=JobLaunchFailure ExitCode=0:9"),
                                                     resources: none))
        #expect(signalled.contains("killed by signal 9"))
    }

    @Test func durationsAndSizesConvertToWhatSlurmReads() throws {
        #expect(try SlurmResources.slurmTime("90s") == "00:01:30")
        #expect(try SlurmResources.slurmTime("30m") == "00:30:00")
        #expect(try SlurmResources.slurmTime("2h") == "02:00:00")
        #expect(try SlurmResources.slurmTime("1d") == "1-00:00:00")
        #expect(try SlurmResources.slurmTime("36h") == "1-12:00:00")
        #expect(try SlurmResources.slurmTime("1-12:00") == "1-12:00")
        #expect(try SlurmResources.slurmTime("45") == "45")
        #expect(throws: RunnerError.self) { try SlurmResources.slurmTime("2 hours") }
        #expect(try SlurmResources.slurmMemory("4G") == "4G")
        #expect(try SlurmResources.slurmMemory("512m") == "512M")
        #expect(try SlurmResources.slurmMemory("1.5G") == "1536M")
        #expect(try SlurmResources.slurmMemory("2048") == "2048M")
        #expect(throws: RunnerError.self) { try SlurmResources.slurmMemory("lots") }
    }

    /// A size or duration past Int trapped while being converted (found in the fuzzing pass, by reading
    /// what the loader's accepted values flow into): now an error naming the value.
    @Test func sizesAndDurationsBeyondIntAreErrors() {
        func message(_ body: () throws -> String) -> String {
            do { return "accepted: \(try body())" } catch { return "\(error)" }
        }
        #expect(message { try SlurmResources.slurmMemory("1e300G") } == "resources.mem '1e300G' is too large (at most 2^53 KiB)")
        #expect(message { try SlurmResources.slurmMemory("infT") } == "resources.mem 'infT' is not a size (write e.g. 512M, 4G)")
        #expect(message { try SlurmResources.slurmTime("9999999999999999d") }
                == "resources.time '9999999999999999d' is too long (at most 2^63 seconds)")
        #expect(message { try SlurmResources.slurmTime("153722867280912931m") } == "resources.time '153722867280912931m' is too long (at most 2^63 seconds)")
        #expect(message { try SlurmResources.slurmMemory("8589934591K") } == "accepted: 8589934591K")
    }

    @Test func configFileSetsExecutorAndSlurmSettings() throws {
        let text = """
        executor: slurm
        slurm:
          partition: debug
          account: lab
          flags: [--qos=short, "--constraint=avx2"]
          defaults: { cpus: 2, mem: 4G, time: 2h }
          stages:
            ppo: { partition: gpu, flags: --gres=gpu:1 }
          poll_interval: 0.5
          max_jobs: 200
        """
        let settings = try ExecutorSettings.parse(text, file: "pipe.config.yaml")
        #expect(settings.kind == .slurm)
        #expect(settings.slurm.partition == "debug" && settings.slurm.account == "lab")
        #expect(settings.slurm.flags == ["--qos=short", "--constraint=avx2"])
        #expect(settings.slurm.defaults == SlurmResources(cpus: 2, mem: "4G", time: "2h"))
        #expect(settings.slurm.stageOverrides["ppo"] == .init(partition: "gpu", flags: ["--gres=gpu:1"]))
        #expect(settings.slurm.pollInterval == 0.5)
        #expect(settings.defaultJobs == 200)
        #expect(settings.slurm.requeue && settings.slurm.requeueSignal == 60, "requeue before the limit by default")
        let requeue = try ExecutorSettings.parse("slurm:\n  requeue: true\n  requeue_signal: 40\n", file: "pipe.config.yaml")
        #expect(requeue.slurm.requeue && requeue.slurm.requeueSignal == 40)
        #expect(try !ExecutorSettings.parse("slurm:\n  requeue: false\n", file: "pipe.config.yaml").slurm.requeue)
        let empty = try ExecutorSettings.parse("", file: "empty.yaml")
        #expect(empty.kind == .local && empty.defaultJobs == nil, "local keeps the one-stage-per-core default for -j")
    }

    @Test(arguments: [
        ("executor: cluster\n", "pipe.config.yaml:1:11: executor: 'cluster' is not an executor (use local or slurm)"),
        ("slurm:\n  partion: debug\n", "pipe.config.yaml:2:3: unknown field 'partion' in slurm"),
        ("slurm:\n  defaults: { time: soon }\n", "pipe.config.yaml:2:21: slurm.defaults.time: resources.time 'soon' is not a duration"),
        ("slurm:\n  defaults: { mem: 1e300G }\n", "pipe.config.yaml:2:20: slurm.defaults.mem: resources.mem '1e300G' is too large (at most 2^53 KiB)"),
        ("slurm:\n  defaults: { time: 9999999999999999d }\n",
         "pipe.config.yaml:2:21: slurm.defaults.time: resources.time '9999999999999999d' is too long (at most 2^63 seconds)"),
        ("slurm:\n  flags: [qos=short]\n", "pipe.config.yaml:2:11: slurm.flags: 'qos=short' is not an sbatch flag"),
        ("slurm:\n  requeue: maybe\n", "pipe.config.yaml:2:12: slurm.requeue must be true or false"),
        // Past UInt32 microseconds (or infinite), the poll loop's sleep trapped.
        ("slurm:\n  poll_interval: inf\n", "pipe.config.yaml:2:18: slurm.poll_interval must be a number of seconds from 0.05 to 86400"),
        ("slurm:\n  status_file_grace: 1e300\n", "pipe.config.yaml:2:22: slurm.status_file_grace must be a number of seconds from 0 to 86400"),
        ("slurm:\n  requeue_signal: 5\n", "pipe.config.yaml:2:19: slurm.requeue_signal must be a whole number of seconds from 10"),
        ("slurm:\n  requeue_signal: 1m\n", "pipe.config.yaml:2:19: slurm.requeue_signal must be a whole number of seconds from 10"),
    ])
    func configFileErrorsNameFileLineAndField(text: String, expected: String) {
        do {
            _ = try ExecutorSettings.parse(text, file: "pipe.config.yaml")
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error)".hasPrefix(expected), "\(error)")
        }
    }
}
