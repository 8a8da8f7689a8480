import Foundation
import RandomTestSupport
import Stages
import Testing
import WorkspaceTestSupport

/// `pipe run` SIGKILLed at random moments while a small SFT stage, then a small PPO stage, runs
/// (10 trials each, the next run started at once beside the dying one). After every kill: no process
/// of the killed run survives it (stage, watchdog, anything the stage started); at no moment do two
/// stage processes of one key run at once; after the trials `pipe verify` finds the store intact (no
/// half-written output became a result), the run completes with the bytes of a run that was never
/// interrupted, and no resume redid more than one checkpoint interval (the key's work ledger).
@Suite("pipe run killed at random moments", .serialized)
struct KillAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// Stage blocks after smoke.yaml's corpus, data and tokens stages, at sizes that take a few
    /// seconds in a debug build; each pipeline file below is a prefix of this chain.
    static let chain: [(name: String, yaml: String)] = [
        ("sft", """
          sft:
            uses: sft
            inputs: { tokens: tokens.tokens, tokenizer: tokens.tokenizer }
            with: { n_layer: 1, n_head: 2, n_embd: 32, block_size: 48, batch_size: 4, steps: 60, lr: 3e-3,
                    warmup_steps: 5, eval_interval: 30, eval_batches: 2, checkpoint_every: 10 }

        """),
        ("rm", """
          pairs:  { uses: rm-pairs, inputs: { tokens: tokens.tokens, model: sft.model }, with: { pairs: 48, max_tokens: 32 } }
          rm:
            uses: rm
            inputs: { pairs: pairs.pairs, init: sft.model }
            with: { batch_size: 8, lr: 2e-3, warmup_steps: 2, epochs: 1 }

        """),
        ("ppo", """
          ppo:
            uses: ppo
            inputs: { policy: sft.model, reward: rm.model, tokens: tokens.tokens }
            with: { steps: 6, batch_size: 8, mini_batch_size: 4, ppo_epochs: 2, response_length: 6, lr: 1e-3,
                    corpus_prompts: 8, checkpoint_every: 2 }

        """),
    ]

    /// `pipelines/kill-up.yaml` (corpus, data, tokens) and `pipelines/kill-<stage>.yaml` for each
    /// prefix of `chain`.
    static func workspace() throws -> TestWorkspace {
        let workspace = try SmokePipelineTests.workspace()
        let smoke = try workspace.read("pipelines/smoke.yaml")
        var text = smoke.components(separatedBy: "\n  judge:")[0] + "\n"
        try workspace.write("pipelines/kill-up.yaml", text)
        for (name, yaml) in chain {
            text += yaml
            try workspace.write("pipelines/kill-\(name).yaml", text)
        }
        return workspace
    }

    /// The `outs:` lines (`name: digest`) of `stage` in a pipeline's lock file (written after each
    /// successful run).
    static func lockedOutputs(_ workspace: TestWorkspace, pipeline: String, stage: String) throws -> [String] {
        let parts = try workspace.read("pipelines/kill-\(pipeline).lock").components(separatedBy: "\n  \(stage):\n")
        guard parts.count == 2 else { throw TestSupportError("no stage \(stage) in kill-\(pipeline).lock") }
        let entry = parts[1].split(separator: "\n").prefix { $0.hasPrefix("    ") }
        guard let outs = entry.firstIndex(of: "    outs:") else { throw TestSupportError("no outs: for \(stage) in kill-\(pipeline).lock") }
        return entry[(outs + 1)...].prefix { $0.hasPrefix("      ") }.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// Seconds since `start`.
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    @Test func killedAtRandomMomentsDuringSFTAndPPONoOrphanNoDoubleBuildSameBytes() throws {
        // The uninterrupted reference, and how long each stage's run takes once its upstream is cached.
        let reference = try Self.workspace()
        defer { reference.remove() }
        #expect(try pipe.run(["run", "pipelines/kill-up.yaml"], in: reference.root).status == 0)
        var start = ContinuousClock.now
        let sft = try pipe.run(["run", "pipelines/kill-sft.yaml"], in: reference.root)
        let sftSeconds = Self.seconds(since: start)
        #expect(sft.status == 0, "\(sft)")
        #expect(try pipe.run(["run", "pipelines/kill-rm.yaml"], in: reference.root).status == 0)
        start = ContinuousClock.now
        let ppo = try pipe.run(["run", "pipelines/kill-ppo.yaml"], in: reference.root)
        let ppoSeconds = Self.seconds(since: start)
        #expect(ppo.status == 0, "\(ppo)")

        let workspace = try Self.workspace()
        defer { workspace.remove() }
        #expect(try pipe.run(["run", "pipelines/kill-up.yaml"], in: workspace.root).status == 0)
        let monitor = StageProcessMonitor(within: workspace.root)
        monitor.start()
        defer { monitor.stop() }
        var random = SplitMix64(seed: 0x6B696C6C)
        try killTrials(stage: "sft", pipeline: "sft", within: sftSeconds, checkpointEvery: 10, workspace: workspace, reference: reference, random: &random)
        #expect(try pipe.run(["run", "pipelines/kill-rm.yaml"], in: workspace.root).status == 0)
        try killTrials(stage: "ppo", pipeline: "ppo", within: ppoSeconds, checkpointEvery: 2, workspace: workspace, reference: reference, random: &random)
        monitor.stop()
        #expect(monitor.concurrentSightings.isEmpty, "two stage processes of one key at once: \(monitor.concurrentSightings.prefix(3))")
        #expect(monitor.samples > 100, "the monitor looked at the process table \(monitor.samples) times")
        #expect(monitor.samplesWithAStage > 10, "the monitor saw this workspace's stages in \(monitor.samplesWithAStage) samples")

        for (pipeline, stage) in [("sft", "sft"), ("ppo", "ppo")] {
            let expected = try Self.lockedOutputs(reference, pipeline: pipeline, stage: stage)
            #expect(!expected.isEmpty)
            #expect(try Self.lockedOutputs(workspace, pipeline: pipeline, stage: stage) == expected,
                    "\(stage) after the kills has other bytes than the uninterrupted run")
        }
    }

    /// Ten runs of `kill-<pipeline>.yaml --force <stage>` (so each one executes the stage, resuming
    /// from the last checkpoint when one is there), each SIGKILLed after a uniformly random delay in
    /// [0, 1.2 × an uninterrupted run]; the next starts at once. Then: every killed run's processes
    /// are gone, the store verifies, and a plain run completes. After every kill the key's work ledger
    /// (in its resume directory until the key completes) shows no resume that redid more than
    /// `checkpointEvery` steps; so does the completing execution's log line.
    func killTrials(stage: String, pipeline: String, within seconds: Double, checkpointEvery: Int, workspace: TestWorkspace,
                    reference: TestWorkspace, random: inout SplitMix64) throws {
        var markers: [String] = []
        var delays: [Double] = []
        var mostRedone = 0, resumes = 0
        // The stage's key (the same in the reference run): its resume directory holds the ledger.
        let key = try Self.lockedKey(reference, pipeline: pipeline, stage: stage)
        for trial in 0..<10 {
            let marker = "kill-\(stage)-\(trial)-\(getpid())"
            markers.append(marker)
            let running = try pipe.start(["run", "pipelines/kill-\(pipeline).yaml", "--force", stage], in: workspace.root,
                                         environment: ["PIPE_KILL_TRIAL": marker])
            let delay = random.nextUnit() * 1.2 * seconds
            delays.append(delay)
            usleep(UInt32(delay * 1e6))
            running.signal(SIGKILL)
            _ = running.finish()
            // Racing the next trial's execution is harmless: the ledger is append-only.
            let tally = WorkLedger.tally(WorkLedger(root: workspace.path("artifacts/resume/" + key)).executions())
            mostRedone = max(mostRedone, tally.mostRedoneAtOnce)
            resumes = max(resumes, tally.executions - 1)
        }
        // Every killed run's processes end (the watchdog kills its stage's group the moment its runner dies).
        for marker in markers {
            try HardeningAcceptanceTests.waitFor("the processes of \(marker) to end", timeout: 10) {
                StageProcessMonitor.processes(withEnvironment: "PIPE_KILL_TRIAL=" + marker).isEmpty
            }
        }
        let verify = try pipe.run(["verify"], in: workspace.root)
        #expect(verify.status == 0 && verify.stdout.contains("store is intact"),
                "\(stage): after kills at \(delays.map { String(format: "%.2f", $0) }) s: \(verify)")
        let last = try pipe.run(["run", "pipelines/kill-\(pipeline).yaml"], in: workspace.root)
        #expect(last.status == 0, "\(last)")
        let log = try pipe.run(["log", "latest", stage], in: workspace.root).stdout
        if let work = log.firstMatch(of: /executions of this key ran \d+ steps for \d+: \d+ redone after interruptions, at most (\d+) at one resume/) {
            mostRedone = max(mostRedone, Int(work.1) ?? .max)
        }
        #expect(mostRedone <= checkpointEvery, "\(stage): a resume redid \(mostRedone) steps, over the interval \(checkpointEvery)")
        // Figures for the report: swift test --filter KillAcceptanceTests 2>&1 | grep 'kill work figures'
        print("kill work figures: \(stage): at most \(mostRedone) steps redone at one resume (checkpoint every \(checkpointEvery)), "
              + "up to \(resumes) resumes of one key seen")
    }

    /// The `key:` of `stage` in a pipeline's lock file.
    static func lockedKey(_ workspace: TestWorkspace, pipeline: String, stage: String) throws -> String {
        let parts = try workspace.read("pipelines/kill-\(pipeline).lock").components(separatedBy: "\n  \(stage):\n")
        guard parts.count == 2, let line = parts[1].split(separator: "\n").first(where: { $0.hasPrefix("    key: ") }) else {
            throw TestSupportError("no key for \(stage) in kill-\(pipeline).lock")
        }
        return String(line.dropFirst("    key: ".count))
    }
}

/// Samples the process table (every few ms, on its own thread) for built-in stage processes
/// (`pipe _stage …`) of one workspace and notes any moment at which two of them share a key (their
/// `PIPE_RESUME` directory is per key). Only that workspace's: other tests run beside this one, and a
/// stage that starts a child (a reward command) shows the stage's command line and environment in
/// the child until its exec.
final class StageProcessMonitor: @unchecked Sendable {
    private let resumePrefix: String
    private let lock = NSLock()
    private var stopped = false
    private var thread: Thread?
    private(set) var concurrentSightings: [String] = []
    private(set) var samples = 0
    /// Samples that saw at least one stage of the workspace (so the filter is not vacuous).
    private(set) var samplesWithAStage = 0

    init(within workspace: String) {
        resumePrefix = "PIPE_RESUME=" + workspace + "/"
    }

    func start() {
        let thread = Thread { [self] in
            while true {
                lock.lock(); let done = stopped; lock.unlock()
                if done { return }
                var byKey: [String: [Int32]] = [:]
                for pid in Self.allPIDs() {
                    let arguments = Self.read("/proc/\(pid)/cmdline").split(separator: 0)
                    guard arguments.count >= 2, String(decoding: arguments[1], as: UTF8.self) == "_stage" else { continue }
                    for entry in Self.read("/proc/\(pid)/environ").split(separator: 0) {
                        let text = String(decoding: entry, as: UTF8.self)
                        if text.hasPrefix(resumePrefix) { byKey[text, default: []].append(pid) }
                    }
                }
                lock.lock()
                samples += 1
                if !byKey.isEmpty { samplesWithAStage += 1 }
                for (key, pids) in byKey where pids.count > 1 { concurrentSightings.append("\(key): pids \(pids)") }
                lock.unlock()
                usleep(3_000)
            }
        }
        self.thread = thread
        thread.start()
    }

    func stop() {
        lock.lock(); stopped = true; lock.unlock()
    }

    static func allPIDs() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    }

    static func read(_ path: String) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        return [UInt8]((try? handle.readToEnd()) ?? Data())
    }

    /// Pids of live processes whose environment holds `entry` exactly (zombies show none).
    static func processes(withEnvironment entry: String) -> [Int32] {
        let wanted = Array(entry.utf8)
        return allPIDs().filter { pid in
            read("/proc/\(pid)/environ").split(separator: 0).contains { Array($0) == wanted }
        }
    }
}
