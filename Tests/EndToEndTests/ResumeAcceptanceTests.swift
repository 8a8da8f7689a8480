import Foundation
import Testing
import WorkspaceTestSupport

/// A training stage killed with its runner continues from its last checkpoint when the same key runs
/// again, and ends in the same bytes as a run that was never interrupted.
@Suite("resume after kill", .serialized)
struct ResumeAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// smoke.yaml's corpus, data and tokens stages, then an SFT long enough to kill mid-way.
    static func workspace() throws -> TestWorkspace {
        let workspace = try SmokePipelineTests.workspace()
        let smoke = try workspace.read("pipelines/smoke.yaml")
        let head = smoke.components(separatedBy: "\n  judge:")[0]
        try workspace.write("pipelines/resume.yaml", head + """

          sft:
            uses: sft
            inputs: { tokens: tokens.tokens, tokenizer: tokens.tokenizer }
            with: { n_layer: 1, n_head: 2, n_embd: 32, block_size: 32, batch_size: 4, steps: 400, lr: 3e-3,
                    warmup_steps: 5, eval_interval: 100, eval_batches: 2, checkpoint_every: 20 }

        """)
        return workspace
    }

    /// The step of the newest checkpoint in the store's resume area (0: none yet).
    static func latestCheckpoint(_ workspace: TestWorkspace) -> Int {
        for key in workspace.list("artifacts/resume") {
            if let text = try? workspace.read("artifacts/resume/\(key)/latest"),
               let step = Int(text.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst(5)) { return step }
        }
        return 0
    }

    @Test func sftKilledTwiceResumesAndEndsInTheUninterruptedBytes() throws {
        let reference = try Self.workspace()
        defer { reference.remove() }
        let plain = try pipe.run(["run", "pipelines/resume.yaml"], in: reference.root)
        #expect(plain.status == 0, "\(plain)")
        #expect(reference.list("artifacts/resume").isEmpty, "a finished key keeps no checkpoints")

        let workspace = try Self.workspace()
        defer { workspace.remove() }
        var killedAfter: [Int] = []
        for wanted in [40, 160] {
            let running = try pipe.start(["run", "pipelines/resume.yaml"], in: workspace.root)
            try HardeningAcceptanceTests.waitFor("a checkpoint at step ≥ \(wanted)", timeout: 300) { Self.latestCheckpoint(workspace) >= wanted }
            running.signal(SIGKILL)
            _ = running.finish()
            killedAfter.append(Self.latestCheckpoint(workspace))
        }
        let last = try pipe.run(["run", "pipelines/resume.yaml"], in: workspace.root)
        #expect(last.status == 0, "\(last)")
        let log = try pipe.run(["log", "latest", "sft"], in: workspace.root)
        #expect(log.stdout.contains("sft: resuming at step \(killedAfter[1]) of 400"), "\(log)")
        #expect(log.stdout.contains("sft: \(400 - killedAfter[1]) steps in"), "the rerun only did the steps after the checkpoint: \(log)")
        // All the work of the key: each kill cost at most the steps since its last checkpoint.
        let work = try #require(log.stdout.firstMatch(of: /sft: 3 executions of this key ran (\d+) steps for 400: (\d+) redone after interruptions, at most (\d+) at one resume \(checkpoint every 20\)/), "\(log)")
        #expect(Int(work.3)! <= 20 && Int(work.1)! == 400 + Int(work.2)!, "\(work.0)")
        #expect(workspace.list("artifacts/resume").isEmpty, "the finished key's checkpoints are removed")

        for (label, ws) in [("reference", reference), ("resumed", workspace)] {
            for output in ["model", "metrics"] {
                let export = try pipe.run(["export", "latest", "sft", "--output", output, "--to", ws.path("exported/" + output)], in: ws.root)
                #expect(export.status == 0, "\(label): \(export)")
            }
        }
        for file in ["model/model.safetensors", "metrics/metrics.jsonl", "metrics/summary.json"] {
            let a = FileManager.default.contents(atPath: reference.path("exported/" + file))
            let b = FileManager.default.contents(atPath: workspace.path("exported/" + file))
            #expect(a != nil && a == b, "\(file) differs between the uninterrupted and the resumed run")
        }
    }
}
