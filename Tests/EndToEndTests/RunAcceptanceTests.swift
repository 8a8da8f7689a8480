import Commands
import Foundation
import Store
import Testing
import WorkspaceTestSupport

/// Issue 2's acceptance criteria, on the 6-stage command pipeline shaped like the RLHF flow
/// (`CommandPipelineFixture`), through the real `pipe` binary. The fixture's commands append their
/// stage kind to a ledger file, so "what executed" is observed from the commands' side.
@Suite("pipe run: caching and reruns")
struct RunAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    static let allKinds = ["tokenise", "sft", "rm-pairs", "rm", "ppo", "evaluate"]

    /// Runs the fixture pipeline and returns (result, kinds the commands executed).
    func run(_ workspace: TestWorkspace, _ extra: [String] = []) throws -> (PipeBinary.Result, [String]) {
        try workspace.clearLedger()
        let result = try pipe.run(["run", CommandPipelineFixture.pipelineFile] + extra, in: workspace.root,
                                  environment: workspace.ledgerEnvironment)
        return (result, workspace.ledger())
    }

    @Test func firstRunExecutesEveryStageAndSecondRunNothing() throws {
        let workspace = try TestWorkspace.rlhfShaped()
        defer { workspace.remove() }
        let (first, firstLedger) = try run(workspace)
        #expect(first.status == 0, "\(first)")
        #expect(firstLedger == Self.allKinds)
        #expect(first.stdout.contains("6 ran, 0 cached"), "\(first)")

        let (second, secondLedger) = try run(workspace)
        #expect(second.status == 0, "\(second)")
        #expect(secondLedger.isEmpty, "second run executed \(secondLedger)")
        #expect(second.stdout.contains("0 ran, 6 cached"), "\(second)")
    }

    @Test func changingAPPOParamRerunsExactlyPPOAndEvaluateAndSettingItBackRunsNothing() throws {
        let workspace = try TestWorkspace.rlhfShaped()
        defer { workspace.remove() }
        _ = try run(workspace)
        let originalStatus = try pipe.run(["status", CommandPipelineFixture.pipelineFile], in: workspace.root)

        let (changed, changedLedger) = try run(workspace, ["--set", "ppo.lr=3e-5"])
        #expect(changed.status == 0, "\(changed)")
        #expect(changedLedger == ["ppo", "evaluate"])

        let (back, backLedger) = try run(workspace)
        #expect(back.status == 0, "\(back)")
        #expect(backLedger.isEmpty, "setting the param back executed \(backLedger)")
        // The same keys as the first run: the earlier outputs came back from the store.
        let restoredStatus = try pipe.run(["status", CommandPipelineFixture.pipelineFile], in: workspace.root)
        #expect(restoredStatus.stdout == originalStatus.stdout)
        #expect(restoredStatus.stdout.contains("all 6 stages cached"), "\(restoredStatus)")
    }

    @Test func touchingAnInputWithoutChangingItsBytesRerunsNothing() throws {
        let workspace = try TestWorkspace.rlhfShaped()
        defer { workspace.remove() }
        _ = try run(workspace)
        // A different mtime and ctime (defeats the stat cache, so the file is re-hashed).
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)],
                                              ofItemAtPath: workspace.path(CommandPipelineFixture.corpusFile))
        let (result, ledger) = try run(workspace)
        #expect(result.status == 0, "\(result)")
        #expect(ledger.isEmpty, "touching the corpus executed \(ledger)")

        // Whereas changing its bytes reruns everything downstream of it.
        try workspace.write(CommandPipelineFixture.corpusFile, try workspace.read(CommandPipelineFixture.corpusFile) + "a new review.\n")
        let (_, changedLedger) = try run(workspace)
        #expect(changedLedger.first == "tokenise")
    }

    @Test func rerunWithIdenticalOutputBytesLeavesDownstreamCached() throws {
        let workspace = try TestWorkspace.rlhfShaped()
        defer { workspace.remove() }
        _ = try run(workspace)
        // `note` changes the pairs stage's command (so its key) but not its output bytes.
        let (result, ledger) = try run(workspace, ["--set", "pairs.note=early cutoff"])
        #expect(result.status == 0, "\(result)")
        #expect(ledger == ["rm-pairs"], "early cutoff failed: executed \(ledger)")
    }

    @Test func forceRerunsOneStage() throws {
        let workspace = try TestWorkspace.rlhfShaped()
        defer { workspace.remove() }
        _ = try run(workspace)
        let (result, ledger) = try run(workspace, ["--force", "sft"])
        #expect(result.status == 0, "\(result)")
        #expect(ledger == ["sft"], "same bytes: downstream stays cached; executed \(ledger)")

        let bad = try pipe.run(["run", CommandPipelineFixture.pipelineFile, "--force", "sfft"], in: workspace.root)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("did you mean 'sft'"), "\(bad)")
    }

    @Test func dryRunRunsNothingAndSaysWhatWouldRun() throws {
        let workspace = try TestWorkspace.rlhfShaped()
        defer { workspace.remove() }
        let (result, ledger) = try run(workspace, ["--dry-run"])
        #expect(result.status == 0, "\(result)")
        #expect(ledger.isEmpty)
        #expect(workspace.list("artifacts/stages").isEmpty)
        #expect(result.stdout.contains("tokens  would run: never run"), "\(result)")
        #expect(result.stdout.contains("6 of 6 stages would run"), "\(result)")

        _ = try run(workspace)
        let (afterChange, afterLedger) = try run(workspace, ["--dry-run", "--set", "ppo.init_kl_coef=0.1"])
        #expect(afterLedger.isEmpty)
        #expect(afterChange.stdout.contains("param init_kl_coef changed 0.2 → 0.1"), "\(afterChange)")
        #expect(afterChange.stdout.contains("2 of 6 stages would run"), "\(afterChange)")
    }

    @Test func statusSaysWhyEachStageMustRun() throws {
        let workspace = try TestWorkspace.rlhfShaped()
        defer { workspace.remove() }
        let fresh = try pipe.run(["status", CommandPipelineFixture.pipelineFile], in: workspace.root)
        #expect(fresh.status == 0, "\(fresh)")
        #expect(fresh.stdout.contains("tokens  must run: never run"), "\(fresh)")
        #expect(fresh.stdout.contains("sft     must run: runs after tokens; never run"), "\(fresh)")

        _ = try run(workspace)
        let changed = try pipe.run(["status", CommandPipelineFixture.pipelineFile, "--set", "ppo.lr=3e-5"], in: workspace.root)
        #expect(changed.stdout.contains("tokens  cached"), "\(changed)")
        #expect(changed.stdout.contains("ppo     must run: param lr changed 1.41e-05 → 3e-05"), "\(changed)")
        #expect(changed.stdout.contains("eval    must run: runs after ppo"), "\(changed)")

        _ = try run(workspace, ["--set", "ppo.lr=3e-5"])
        try workspace.write(CommandPipelineFixture.corpusFile, "completely different text\n")
        let afterData = try pipe.run(["status", CommandPipelineFixture.pipelineFile], in: workspace.root)
        #expect(afterData.stdout.contains("tokens  must run: dep data/corpus.txt changed"), "\(afterData)")
        // ppo's last result was built with lr=3e-5: status compares with that.
        #expect(afterData.stdout.contains("ppo     must run: runs after"), "\(afterData)")
        #expect(afterData.stdout.contains("param lr changed 3e-05 → 1.41e-05"), "\(afterData)")
    }

    @Test func invalidPipelineExitsWithStatus2AndAPositionedDiagnostic() throws {
        let workspace = try TestWorkspace.rlhfShaped()
        defer { workspace.remove() }
        let result = try pipe.run(["run", CommandPipelineFixture.pipelineFile, "--set", "ppo.lrr=1"], in: workspace.root)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("lrr"), "\(result)")
        #expect(result.stderr.contains("did you mean 'lr'"), "\(result)")

        try workspace.write("pipelines/typo.yaml", "name: typo\nstages:\n  a: { uses: tokenize }\n")
        let typo = try pipe.run(["status", "pipelines/typo.yaml"], in: workspace.root)
        #expect(typo.status == 2, "\(typo)")
        #expect(typo.stderr.contains("pipelines/typo.yaml:3:"), "\(typo)")
    }

    @Test func stagesListsIntBoundsAsIntsAndFloatBoundsAsFloats() throws {
        let workspace = try TestWorkspace("pipe-e2e-stages")
        defer { workspace.remove() }
        try workspace.write("stages/train.yaml", """
        kind: train
        version: 1
        run: "echo ${params.steps} ${params.lr} > ${outs.model}"
        outputs: { model: {} }
        params:
          steps: { type: int, default: 10, min: 1, max: 1000, doc: optimiser steps }
          lr:    { type: float, default: 0.001, min: 0.0001, max: 1, doc: "learning rate, peak" }

        """)
        let result = try pipe.run(["stages"], in: workspace.root)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("steps  int = 10, min 1, max 1000  — optimiser steps"), "\(result)")
        #expect(result.stdout.contains("lr     float = 0.001, min 0.0001, max 1.0  — learning rate, peak"), "\(result)")
    }
}
