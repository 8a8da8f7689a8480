import Engine
import Foundation
import RandomTestSupport
import Testing
import WorkspaceTestSupport

/// SFT and PPO running as Slurm jobs, each stopped 10 times at random points of its training, in
/// turn by `scancel` (SIGTERM, then SIGKILL after KillWait), by SIGKILL to the stage process inside
/// its job (no grace, as the OOM killer or a crash) and by `scontrol requeue` (a preemption: Slurm
/// ends the attempt and runs the same job again, and `pipe run` follows it). After a cancel or a
/// crash the run fails and is run again; after a requeue it goes on by itself. Each key ends in the bytes of an uninterrupted local run,
/// and its work ledger shows that no resume redid more than one checkpoint interval.
@Suite("Slurm: training stages killed as Slurm jobs resume to the uninterrupted bytes", .serialized,
       .enabled(if: SlurmCluster.isUp, "no Slurm cluster: start one with scripts/slurm/start-local.sh (as root); the reason is printed above"))
struct SlurmKillResumeTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// A stage under test: its pipeline file's block, its steps and checkpoint interval.
    struct Trained {
        var name: String
        var yaml: String
        var steps: Int
        var checkpointEvery: Int
    }

    /// Stage blocks after smoke.yaml's corpus, data and tokens stages; each pipeline file is a prefix
    /// of this chain. Sizes keep a debug build's SFT at a few seconds and PPO at about ten.
    static let chain: [Trained] = [
        Trained(name: "sft", yaml: """
          sft:
            uses: sft
            inputs: { tokens: tokens.tokens, tokenizer: tokens.tokenizer }
            with: { n_layer: 1, n_head: 2, n_embd: 32, block_size: 32, batch_size: 4, steps: 400, lr: 3e-3,
                    warmup_steps: 5, eval_interval: 100, eval_batches: 2, checkpoint_every: 20 }

        """, steps: 400, checkpointEvery: 20),
        Trained(name: "rm", yaml: """
          pairs:  { uses: rm-pairs, inputs: { tokens: tokens.tokens, model: sft.model }, with: { pairs: 48, max_tokens: 32 } }
          rm:
            uses: rm
            inputs: { pairs: pairs.pairs, init: sft.model }
            with: { batch_size: 8, lr: 2e-3, warmup_steps: 2, epochs: 1 }

        """, steps: 0, checkpointEvery: 0),
        Trained(name: "ppo", yaml: """
          ppo:
            uses: ppo
            inputs: { policy: sft.model, reward: rm.model, tokens: tokens.tokens }
            with: { steps: 20, batch_size: 8, mini_batch_size: 4, ppo_epochs: 2, response_length: 6, lr: 1e-3,
                    corpus_prompts: 8, checkpoint_every: 2 }

        """, steps: 20, checkpointEvery: 2),
    ]

    /// `pipelines/kill-up.yaml` (corpus, data, tokens) and `pipelines/kill-<stage>.yaml` for each
    /// prefix of `chain`; with `slurm`, a `pipe.config.yaml` that runs every stage as a requeueable job.
    static func workspace(slurm: Bool) throws -> TestWorkspace {
        let workspace = try TestWorkspace("pipe-slurm-kill")
        let root = SlurmCluster.packageRoot
        try FileManager.default.copyItem(atPath: root + "/stages", toPath: workspace.path("stages"))
        let smoke = try String(contentsOfFile: root + "/pipelines/smoke.yaml", encoding: .utf8)
        var text = smoke.components(separatedBy: "\n  judge:")[0] + "\n"
        try workspace.write("pipelines/kill-up.yaml", text)
        for stage in chain {
            text += stage.yaml
            try workspace.write("pipelines/kill-\(stage.name).yaml", text)
        }
        if slurm {
            try workspace.write("pipe.config.yaml", "executor: slurm\nslurm:\n  requeue: true\n  requeue_signal: 40\n")
        }
        return workspace
    }

    /// The `outs:` lines (`name: digest`) of `stage` in a pipeline's lock file.
    static func lockedOutputs(_ workspace: TestWorkspace, pipeline: String, stage: String) throws -> [String] {
        let parts = try workspace.read("pipelines/kill-\(pipeline).lock").components(separatedBy: "\n  \(stage):\n")
        guard parts.count == 2 else { throw TestSupportError("no stage \(stage) in kill-\(pipeline).lock") }
        let entry = parts[1].split(separator: "\n").prefix { $0.hasPrefix("    ") }
        guard let outs = entry.firstIndex(of: "    outs:") else { throw TestSupportError("no outs: for \(stage) in kill-\(pipeline).lock") }
        return entry[(outs + 1)...].prefix { $0.hasPrefix("      ") }.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The executions in the work ledger of the key being trained (`resume/<key>/steps.log`, written
    /// by the training loop): (step started at, last step finished) each; a torn last line is left out.
    static func ledger(_ workspace: TestWorkspace) -> [(start: Int, reached: Int)] {
        for key in workspace.list("artifacts/resume") {
            guard let text = try? workspace.read("artifacts/resume/\(key)/steps.log") else { continue }
            var executions: [(start: Int, reached: Int)] = []
            var lines = text.split(separator: "\n")
            if !text.hasSuffix("\n"), !lines.isEmpty { lines.removeLast() }
            for line in lines {
                if line.hasPrefix("start "), let start = Int(line.dropFirst(6)) { executions.append((start, start)) }
                else if let step = Int(line), !executions.isEmpty { executions[executions.count - 1].reached = step }
            }
            return executions
        }
        return []
    }

    /// The running job of `stage` of a `pipe` run in `workspace` started after `earlier` was taken.
    static func runningJob(stage: String, in workspace: String, notIn earlier: Set<String>) -> String? {
        SlurmCluster.jobs().first { $0.name.hasPrefix("pipe-") && $0.name.hasSuffix("-" + stage) && !earlier.contains($0.id)
            && $0.state == "RUNNING" && $0.directory.hasPrefix(workspace + "/") }?.id
    }

    enum Kill: CaseIterable, CustomStringConvertible {
        case cancel, stageSIGKILL, requeue
        var description: String {
            switch self {
            case .cancel: "scancel"
            case .stageSIGKILL: "SIGKILL to the stage in its job"
            case .requeue: "scontrol requeue"
            }
        }
    }

    /// Pids of built-in stage processes (`pipe _stage …`) whose resume directory is in `workspace`.
    static func stageProcesses(in workspace: TestWorkspace) -> [Int32] {
        let resume = Array(("PIPE_RESUME=" + workspace.path("artifacts/resume/")).utf8)
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        return pids.filter { pid in
            let arguments = read("/proc/\(pid)/cmdline").split(separator: 0)
            guard arguments.count >= 2, Array(arguments[1]) == Array("_stage".utf8) else { return false }
            return read("/proc/\(pid)/environ").split(separator: 0).contains { Array($0).starts(with: resume) }
        }
    }

    static func read(_ path: String) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        return [UInt8]((try? handle.readToEnd()) ?? Data())
    }

    @Test func sftAndPPOKilledTenTimesEachAsSlurmJobsEndInTheUninterruptedBytes() throws {
        let started = Date()
        let reference = try Self.workspace(slurm: false)
        defer { reference.remove() }
        let plain = try pipe.run(["run", "pipelines/kill-ppo.yaml"], in: reference.root)
        #expect(plain.status == 0, "\(plain)")
        let referenceSeconds = Date().timeIntervalSince(started)

        let workspace = try Self.workspace(slurm: true)
        defer { workspace.remove() }
        let up = try pipe.run(["run", "pipelines/kill-up.yaml"], in: workspace.root)
        #expect(up.status == 0, "\(up)")
        var random = SplitMix64(seed: 0x736C75726D)
        var figures: [String] = []
        for stage in Self.chain {
            if stage.steps == 0 {
                let result = try pipe.run(["run", "pipelines/kill-\(stage.name).yaml"], in: workspace.root)
                #expect(result.status == 0, "\(result)")
                continue
            }
            try killTrials(stage, workspace: workspace, random: &random)
            // (The reference ran the whole chain: its lock file is kill-ppo.lock.)
            let expected = try Self.lockedOutputs(reference, pipeline: "ppo", stage: stage.name)
            #expect(!expected.isEmpty)
            #expect(try Self.lockedOutputs(workspace, pipeline: stage.name, stage: stage.name) == expected,
                    "\(stage.name) after 10 Slurm kills has other bytes than the uninterrupted local run")

            // The work: no resume redid more than one checkpoint interval.
            let log = try pipe.run(["log", "latest", stage.name], in: workspace.root).stdout
            let pattern = /(\w+): (\d+) executions of this key ran (\d+) steps for (\d+): (\d+) redone after interruptions, at most (\d+) at one resume/
            let work = try #require(log.firstMatch(of: pattern), "\(stage.name): no work line in its log: \(log)")
            let (executions, run, redone, most) = (Int(work.2)!, Int(work.3)!, Int(work.5)!, Int(work.6)!)
            #expect(executions == 11, "\(stage.name): ten killed executions and the one that completed: \(work.0)")
            #expect(most <= stage.checkpointEvery, "\(stage.name): a resume redid \(most) steps, over the interval \(stage.checkpointEvery)")
            #expect(run == stage.steps + redone && redone <= 10 * stage.checkpointEvery, "\(work.0)")
            #expect(workspace.list("artifacts/resume").isEmpty, "\(stage.name): the finished key's checkpoints are removed")
            figures.append("\(stage.name): \(run) steps run for \(stage.steps) over \(executions) executions, \(redone) redone, "
                           + "at most \(most) at one resume (checkpoint every \(stage.checkpointEvery))")
        }
        let verify = try pipe.run(["verify"], in: workspace.root)
        #expect(verify.status == 0 && verify.stdout.contains("store is intact"), "\(verify)")
        #expect(workspace.list("artifacts/tmp").isEmpty, "no staging left behind")
        // Figures for the report: swift test --filter SlurmKillResumeTests 2>&1 | grep 'slurm kill figures'
        print("slurm kill figures: " + figures.joined(separator: "; ")
              + String(format: "; local reference %.0f s, everything %.0f s", referenceSeconds, Date().timeIntervalSince(started)))
    }

    /// Ten kills of `stage`'s Slurm job, each once the execution under way has finished a random
    /// step (ten sorted draws in [0, 0.7 × steps], so the kills land before the stage completes);
    /// then the run completes.
    func killTrials(_ stage: Trained, workspace: TestWorkspace, random: inout SplitMix64) throws {
        let targets = (0..<10).map { _ in Int(random.nextUnit() * 0.7 * Double(stage.steps)) }.sorted()
        let earlier = Set(SlurmCluster.jobs().map(\.id))
        let arguments = ["run", "pipelines/kill-\(stage.name).yaml"]
        var running = try pipe.start(arguments, in: workspace.root)
        var methods: [String] = []
        for (trial, target) in targets.enumerated() {
            let kill = Kill.allCases[trial % Kill.allCases.count]
            if !running.process.isRunning {
                running = try pipe.start(arguments, in: workspace.root)
            }
            // The execution this trial kills has started (its ledger line is there) and reached the target.
            try Self.waitFor("\(stage.name) trial \(trial): execution \(trial + 1) at step ≥ \(target)", timeout: 300,
                             unless: { !running.process.isRunning }) {
                let executions = Self.ledger(workspace)
                return executions.count == trial + 1 && executions[trial].reached >= max(target, executions[trial].start)
            }
            guard running.process.isRunning else {
                Issue.record("\(stage.name) trial \(trial): the run ended before the kill: \(running.finish())")
                return
            }
            let job = try #require(Self.runningJob(stage: stage.name, in: workspace.root, notIn: earlier), "\(stage.name) trial \(trial): no running job")
            methods.append("\(kill) at step \(Self.ledger(workspace).last?.reached ?? -1)")
            switch kill {
            case .cancel:
                #expect(SlurmCommands().cancel([job]))
            case .stageSIGKILL:
                let stages = Self.stageProcesses(in: workspace)
                #expect(stages.count == 1, "\(stage.name) trial \(trial): one stage process of job \(job): \(stages)")
                for pid in stages { Glibc.kill(pid, SIGKILL) }
            case .requeue:
                let output = try SlurmCommands().run("scontrol", ["requeue", job])
                #expect(output.succeeded, "\(output.text)")
                try release(job)
                continue
            }
            let killed = running.finish()
            #expect(killed.status == 1, "\(stage.name) trial \(trial): a run whose job was killed fails: \(killed)")
        }
        // After a cancel, one more run; after a requeue (already released), the same run goes on.
        if !running.process.isRunning { running = try pipe.start(arguments, in: workspace.root) }
        let final = running.finish()
        #expect(final.status == 0, "\(stage.name) after \(methods): \(final)")
        print("slurm kill trials of \(stage.name): " + methods.joined(separator: ", "))
    }

    /// Slurm holds a requeued job until its credentials expire (cred_expire, 120 s by default) before
    /// it may start again: release it once it is pending again, as a cluster with a short
    /// cred_expire would (not in the same second: slurmd would refuse the launch as "Job credential
    /// revoked").
    func release(_ job: String) throws {
        try Self.waitFor("job \(job) to pend after its requeue", timeout: 120) {
            guard let info = SlurmCommands().show(job) else { return false }
            return info.state == .pending && info.restarts > 0
        }
        sleep(5)
        _ = try SlurmCommands().run("scontrol", ["update", "JobId=\(job)", "StartTime=now"])
    }

    /// Polls `condition` every 20 ms until it holds; throws after `timeout` seconds; returns early
    /// (without throwing) when `unless` holds.
    static func waitFor(_ what: String, timeout: Double, unless: () -> Bool = { false }, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if unless() { return }
            guard Date() < deadline else { throw TestSupportError("timed out after \(Int(timeout)) s waiting for \(what)") }
            usleep(20_000)
        }
    }
}
