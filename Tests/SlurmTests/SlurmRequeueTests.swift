import Engine
import Foundation
import Testing
import WorkspaceTestSupport

/// A training stage that outlives its Slurm time limit: Slurm signals the job (`--signal=B:USR1@40`),
/// the stage checkpoints, the job requeues itself, resumes from the checkpoint and completes, and its
/// model is byte-identical to the same pipeline run locally.
@Suite("Slurm: checkpoint and requeue before the time limit", .serialized,
       .enabled(if: SlurmCluster.isUp, "no Slurm cluster: start one with scripts/slurm/start-local.sh (as root); the reason is printed above"))
struct SlurmRequeueTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// The repository's stage declarations; smoke.yaml's corpus, data and tokens stages; an SFT that
    /// runs about a minute on one core (Slurm checks time limits every 30 s, so with `time: 1m` and a
    /// 40 s warning the signal comes 20–50 s into the job); Slurm as the executor.
    static func workspace() throws -> TestWorkspace {
        let workspace = try TestWorkspace("pipe-slurm-requeue")
        let root = SlurmCluster.packageRoot
        try FileManager.default.copyItem(atPath: root + "/stages", toPath: workspace.path("stages"))
        let smoke = try String(contentsOfFile: root + "/pipelines/smoke.yaml", encoding: .utf8)
        try workspace.write("pipelines/requeue.yaml", smoke.components(separatedBy: "\n  judge:")[0] + """

          sft:
            uses: sft
            inputs: { tokens: tokens.tokens, tokenizer: tokens.tokenizer }
            with: { n_layer: 1, n_head: 2, n_embd: 32, block_size: 32, batch_size: 4, steps: 800, lr: 3e-3,
                    warmup_steps: 5, eval_interval: 200, eval_batches: 2, checkpoint_every: 100000 }
            resources: { time: 1m }

        """)
        try workspace.write("pipe.config.yaml", """
        executor: slurm
        slurm:
          requeue: true
          requeue_signal: 40

        """)
        return workspace
    }

    @Test func aStagePastItsTimeLimitCheckpointsRequeuesAndEndsInTheLocalBytes() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        let started = Date()
        let earlierJobs = Set(SlurmCluster.jobs().map(\.id))
        let onSlurm = try pipe.start(["run", "pipelines/requeue.yaml"], in: workspace.root)
        let local = try pipe.start(["run", "pipelines/requeue.yaml", "--executor", "local", "--store", "local-store"], in: workspace.root)

        // Slurm holds a requeued job until its credentials expire (cred_expire, 120 s by default)
        // before it may start again; release it sooner, as a cluster with a short cred_expire would.
        // (Not in the same second as the requeue: slurmd would refuse the new launch as "Job
        // credential revoked".)
        var released: Set<String> = []
        var pendingSince: [String: Date] = [:]
        var sftJob: String?
        while onSlurm.process.isRunning {
            for job in SlurmCluster.jobs() where job.name.hasSuffix("-sft") && job.name.hasPrefix("pipe-") && !earlierJobs.contains(job.id)
                && job.directory.hasPrefix(workspace.root + "/") {
                guard let info = SlurmCommands().show(job.id), info.requeue else { continue }
                sftJob = job.id
                let attempt = "\(job.id)/\(info.restarts)"
                guard info.state == .pending, info.restarts > 0, info.reason == "BeginTime", !released.contains(attempt) else { continue }
                let since = pendingSince[attempt] ?? Date()
                pendingSince[attempt] = since
                if Date().timeIntervalSince(since) >= 5 {
                    _ = try SlurmCommands().run("scontrol", ["update", "JobId=\(job.id)", "StartTime=now"])
                    released.insert(attempt)
                }
            }
            usleep(500_000)
        }
        let slurmResult = onSlurm.finish()
        let localResult = local.finish()
        #expect(slurmResult.status == 0, "\(slurmResult)")
        #expect(localResult.status == 0, "\(localResult)")

        let jobID = try #require(sftJob, "the sft job was never seen: \(slurmResult)")
        let info = try #require(SlurmCommands().show(jobID))
        #expect(info.state == .completed && info.restarts >= 1, "job \(jobID) was requeued and then completed: \(info)")

        let log = try pipe.run(["log", "latest", "sft"], in: workspace.root)
        let requested = log.stdout.matches(of: /sft: checkpoint at step (\d+) on request \(SIGUSR1\)/).compactMap { Int($0.1) }
        let resumed = log.stdout.matches(of: /sft: resuming at step (\d+) of 800/).compactMap { Int($0.1) }
        #expect(!requested.isEmpty && requested == resumed, "each requested checkpoint is where the next attempt resumed: \(log)")
        #expect(log.stdout.contains("nears its time limit: checkpointed, requeueing"), "\(log)")
        #expect(workspace.list("artifacts/resume").isEmpty, "the finished key's checkpoints are removed")
        #expect(workspace.list("artifacts/tmp").isEmpty, "no staging left behind")

        for (store, label) in [("artifacts", "slurm"), ("local-store", "local")] {
            for output in ["model", "metrics"] {
                let export = try pipe.run(["export", "latest", "sft", "--store", store, "--output", output,
                                           "--to", workspace.path("\(label)/\(output)")], in: workspace.root)
                #expect(export.status == 0, "\(label): \(export)")
            }
        }
        for file in ["model/model.safetensors", "metrics/metrics.jsonl"] {
            let fromSlurm = FileManager.default.contents(atPath: workspace.path("slurm/" + file))
            let fromLocal = FileManager.default.contents(atPath: workspace.path("local/" + file))
            #expect(fromSlurm != nil && fromSlurm == fromLocal, "\(file) differs between the requeued Slurm run and the local run")
        }
        // Figures for the report: swift test --filter SlurmRequeueTests 2>&1 | grep 'requeue figures'
        print("requeue figures: \(info.restarts) requeue(s), checkpoints on request at steps "
              + requested.map(String.init).joined(separator: ", ") + String(format: "; both runs in %.0f s", Date().timeIntervalSince(started)))
    }
}
