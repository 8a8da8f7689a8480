import Commands
import Foundation
import Store
import Testing
import WorkspaceTestSupport

/// The 6-stage command pipeline with an evaluate stage that reports metrics the way a built-in does
/// (JSON lines in `$PIPE_EVENTS`, steps 1–20) and writes `metrics` (JSON) and `samples` (JSON lines):
/// `score = lr·10⁴ − init_kl_coef`, so the best variant of a PPO sweep is known in advance.
enum HistoryFixture {
    static let pipeline = CommandPipelineFixture.pipelineFile

    static let evaluate = #"""
    kind: evaluate
    version: 1
    doc: "Scores the policy from its header line and reports metrics like a built-in stage."
    run: |
      STAGE=evaluate; [ -z "$PIPE_LEDGER" ] || echo "$STAGE $$" >> "$PIPE_LEDGER"
      if [ "${params.fail}" = true ]; then echo "error: the judge diverged (asked to fail)" >&2; exit 3; fi
      header=$(head -n 1 ${inputs.policy})
      lr=$(echo "$header" | sed 's/.*lr=\([^ ]*\).*/\1/')
      kl=$(echo "$header" | sed 's/.*kl=\([^ ]*\).*/\1/')
      score=$(awk -v lr="$lr" -v kl="$kl" 'BEGIN { printf "%.6f", lr * 10000 - kl }')
      echo "evaluating policy lr=$lr kl=$kl: score $score"
      awk -v kl="$kl" -v score="$score" 'BEGIN { for (s = 1; s <= 20; s++) printf "{\"type\":\"metrics\",\"step\":%d,\"names\":[\"score\",\"loss\"],\"values\":[%s,%.6f]}\n", s, score, 2.0 / s + kl }' >> "$PIPE_EVENTS"
      echo "{\"score\": $score, \"policy_lines\": $(wc -l < ${inputs.policy}), \"reward_lines\": $(wc -l < ${inputs.reward})}" > ${outs.metrics}
      printf '{"prompt": "the film", "response": "was great <b>%s</b>", "reward": %s}\n' "$lr" "$score" > ${outs.samples}
      printf '{"prompt": "the plot", "response": "was slow", "reward": 0.25}\n' >> ${outs.samples}
      if [ "${params.nondeterministic}" = true ]; then date +%N >> ${outs.samples}; fi
    inputs:
      policy: { doc: the policy }
      reward: { doc: the reward model }
    outputs:
      metrics: { doc: "evaluation metrics (JSON)" }
      samples: { doc: "generated samples (JSON lines)" }
    params:
      nondeterministic: { type: bool, default: false, doc: "append the time in ns to the samples (tests)" }
      fail: { type: bool, default: false, doc: "fail on purpose (tests)" }

    """#

    /// A workspace holding the fixture pipeline, with `sweep:` appended when given.
    static func workspace(_ label: String, sweepBlock: String? = nil) throws -> TestWorkspace {
        let workspace = try TestWorkspace.rlhfShaped(label)
        try workspace.write("stages/evaluate.yaml", evaluate)
        if let sweepBlock {
            try workspace.write(pipeline, try workspace.read(pipeline) + sweepBlock)
        }
        return workspace
    }

    /// The rows of a printed table that start with a rank number.
    static func tableRows(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { line in
            guard let first = line.split(separator: " ").first else { return false }
            return Int(first) != nil
        }
    }
}

@Suite("pipe run --sweep: variants share upstream stages")
struct SweepAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    static let sweepArguments = ["--sweep", "ppo.lr=1e-5,3e-5", "--sweep", "ppo.init_kl_coef=0.1,0.2",
                                 "--rank-by", "eval.score", "-j", "2"]

    @Test func twoByTwoSweepRunsUpstreamOnceListsFourVariantsAndRerunsNothing() throws {
        let workspace = try HistoryFixture.workspace("pipe-sweep")
        defer { workspace.remove() }
        try workspace.clearLedger()
        let first = try pipe.run(["run", HistoryFixture.pipeline] + Self.sweepArguments, in: workspace.root,
                                 environment: workspace.ledgerEnvironment)
        #expect(first.status == 0, "\(first)")
        let ledger = workspace.ledger()
        for upstream in ["tokenise", "sft", "rm-pairs", "rm"] {
            #expect(ledger.filter { $0 == upstream }.count == 1, "\(upstream) ran \(ledger.filter { $0 == upstream }.count) times: \(ledger)")
        }
        #expect(ledger.filter { $0 == "ppo" }.count == 4, "\(ledger)")
        #expect(ledger.filter { $0 == "evaluate" }.count == 4, "\(ledger)")
        #expect(first.stdout.contains("4 variants, 12 distinct stages (24 without sharing); swept stages show as stage[ppo.lr,ppo.init_kl_coef]"), "\(first)")
        // The live log has one line per shared stage, and one per variant of a swept stage.
        #expect(first.stdout.components(separatedBy: "sft: ran in").count == 2, "\(first)")
        #expect(first.stdout.contains("ppo[3e-05,0.1]: ran in"), "\(first)")
        #expect(first.stdout.contains("eval[1e-05,0.2]: ran in"), "\(first)")

        // Best first: score = lr·10⁴ − kl → (3e-5, 0.1) = 0.2, (3e-5, 0.2) = 0.1, (1e-5, 0.1) = 0, (1e-5, 0.2) = −0.1.
        let rows = HistoryFixture.tableRows(first.stdout)
        #expect(rows.count == 4, "\(first)")
        if rows.count == 4 {
            #expect(rows[0].contains("3e-05") && rows[0].contains("0.1 ") && rows[0].contains("0.2"), "\(rows)")
            #expect(rows[3].contains("1e-05") && rows[3].contains("-0.1"), "\(rows)")
            #expect(rows.allSatisfy { $0.hasSuffix("succeeded") }, "\(rows)")
        }
        #expect(first.stdout.contains("ranked by eval.score (higher is better)"), "\(first)")

        // Recorded as a group of four runs under one sweep id.
        let registry = try ArtifactStore(root: workspace.path("artifacts")).openRegistry()
        let sweep = try registry.sweep(id: registry.resolveSweepID("latest"))
        #expect(sweep.members.count == 4)
        #expect(sweep.rankBy == "eval.score")
        #expect(sweep.members.map(\.variant).contains("ppo.lr=1e-05,ppo.init_kl_coef=0.2"), "\(sweep.members.map(\.variant))")
        for member in sweep.members {
            let details = try registry.runDetails(id: member.runID)
            #expect(details.run.status == .succeeded)
            #expect(details.stages.count == 6)
        }
        #expect(workspace.exists("pipelines/rlhf.sweep.lock"))
        // `pipe sweeps` lists it; `pipe sweeps latest` rebuilds the same table from the registry.
        let listed = try pipe.run(["sweeps"], in: workspace.root)
        #expect(listed.stdout.contains(sweep.id) && listed.stdout.contains("eval.score"), "\(listed)")
        let shown = try pipe.run(["sweeps", "latest"], in: workspace.root)
        #expect(HistoryFixture.tableRows(shown.stdout) == rows, "\(shown)")

        try workspace.clearLedger()
        let again = try pipe.run(["run", HistoryFixture.pipeline] + Self.sweepArguments, in: workspace.root,
                                 environment: workspace.ledgerEnvironment)
        #expect(again.status == 0, "\(again)")
        #expect(workspace.ledger().isEmpty, "the rerun executed \(workspace.ledger())")
        #expect(again.stdout.contains("0 ran, 12 cached"), "\(again)")
        // The table still has the metrics (from the cached stage records).
        let withoutRunIDs = { (rows: [String]) in rows.map { $0.split(separator: " ").prefix(5).joined(separator: " ") } }
        #expect(withoutRunIDs(HistoryFixture.tableRows(again.stdout)) == withoutRunIDs(rows), "\(again)")
        // The no-op is recorded in full: a new sweep whose four runs each have all six stages,
        // cached, under the ids the table and the closing line print.
        let rerun = try registry.sweep(id: registry.resolveSweepID("latest"))
        #expect(rerun.id != sweep.id)
        #expect(again.stdout.contains("sweep \(rerun.id): pipe report --sweep \(rerun.id)"), "\(again)")
        #expect(rerun.members.count == 4)
        for member in rerun.members {
            let details = try registry.runDetails(id: member.runID)
            #expect(details.run.status == .succeeded)
            #expect(details.stages.map(\.stage).sorted() == CommandPipelineFixture.stageNames.sorted())
            #expect(details.stages.allSatisfy { $0.outcome == .cached }, "\(details.stages)")
            #expect(again.stdout.contains(member.runID), "\(again)")
        }
    }

    @Test func sweepBlockInThePipelineRunsItsGridAndNoSweepRunsTheBase() throws {
        let workspace = try HistoryFixture.workspace("pipe-sweep-file", sweepBlock: """
        sweep:
          ppo.init_kl_coef: [0.1, 0.3]
          metric: eval.score
          goal: min

        """)
        defer { workspace.remove() }
        let result = try pipe.run(["run", HistoryFixture.pipeline], in: workspace.root)
        #expect(result.status == 0, "\(result)")
        let rows = HistoryFixture.tableRows(result.stdout)
        #expect(rows.count == 2, "\(result)")
        // goal: min → the larger kl (lower score) first.
        #expect(rows.first?.contains("0.3") == true, "\(rows)")
        #expect(result.stdout.contains("lower is better"), "\(result)")

        let base = try pipe.run(["run", HistoryFixture.pipeline, "--no-sweep"], in: workspace.root)
        #expect(base.status == 0, "\(base)")
        #expect(!base.stdout.contains("sweep:"), "\(base)")
        #expect(workspace.exists("pipelines/rlhf.lock"))
    }

    @Test func aFailingVariantFailsAloneAndItsLogIsFoundByRun() throws {
        let workspace = try HistoryFixture.workspace("pipe-sweep-fail")
        defer { workspace.remove() }
        // The second variant's evaluation fails; the first variant completes.
        let result = try pipe.run(["run", HistoryFixture.pipeline, "--sweep", "eval.fail=false,true"], in: workspace.root)
        #expect(result.status == 1, "\(result)")
        let rows = HistoryFixture.tableRows(result.stdout)
        #expect(rows.count == 2, "\(result)")
        #expect(rows.filter { $0.hasSuffix("succeeded") }.count == 1 && rows.filter { $0.hasSuffix("failed") }.count == 1, "\(rows)")
        #expect(!workspace.exists("pipelines/rlhf.sweep.lock"))

        let registry = try ArtifactStore(root: workspace.path("artifacts"), cleanTemporary: false).openRegistry()
        let sweep = try registry.sweep(id: registry.resolveSweepID("latest"))
        let failed = try #require(sweep.members.first { $0.variant == "eval.fail=true" })
        #expect(try registry.runDetails(id: failed.runID).run.status == .failed)
        let log = try pipe.run(["log", failed.runID, "eval"], in: workspace.root)
        #expect(log.status == 0, "\(log)")
        #expect(log.stdout.contains("the judge diverged"), "\(log)")
    }

    @Test func dryRunOfASweepShowsTheMergedPlanAndRunsNothing() throws {
        let workspace = try HistoryFixture.workspace("pipe-sweep-dry")
        defer { workspace.remove() }
        #expect(try pipe.run(["run", HistoryFixture.pipeline], in: workspace.root).status == 0)
        try workspace.clearLedger()
        let result = try pipe.run(["run", HistoryFixture.pipeline, "--dry-run", "--sweep", "ppo.init_kl_coef=0.2,0.3"],
                                  in: workspace.root, environment: workspace.ledgerEnvironment)
        #expect(result.status == 0, "\(result)")
        #expect(workspace.ledger().isEmpty)
        // kl = 0.2 is the base pipeline: already cached; kl = 0.3 needs ppo and eval.
        #expect(result.stdout.contains("2 of 8 stages would run"), "\(result)")
        #expect(result.stdout.contains("param init_kl_coef changed 0.2 → 0.3"), "\(result)")
    }

    /// `pipe status --sweep` plans like `pipe run`: the merged DAG, shared stages once, each node's
    /// reason; after the sweep has run, every node is cached.
    @Test func statusOfASweepPlansLikeRun() throws {
        let workspace = try HistoryFixture.workspace("pipe-sweep-status")
        defer { workspace.remove() }
        #expect(try pipe.run(["run", HistoryFixture.pipeline], in: workspace.root).status == 0)
        let sweep = ["--sweep", "ppo.init_kl_coef=0.2,0.3"]
        let status = try pipe.run(["status", HistoryFixture.pipeline] + sweep, in: workspace.root)
        #expect(status.status == 0, "\(status)")
        #expect(status.stdout.contains("sweep: 2 variants, 8 distinct stages (12 without sharing)"), "\(status)")
        #expect(status.stdout.contains("2 of 8 stages must run"), "\(status)")
        #expect(status.stdout.contains("param init_kl_coef changed 0.2 → 0.3"), "\(status)")
        let dryRun = try pipe.run(["run", HistoryFixture.pipeline, "--dry-run"] + sweep, in: workspace.root)
        let names = { (text: String) in text.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) } }
        #expect(names(status.stdout) == names(dryRun.stdout), "status and run --dry-run list the same nodes\n\(status)\n\(dryRun)")

        #expect(try pipe.run(["run", HistoryFixture.pipeline] + sweep, in: workspace.root).status == 0)
        let after = try pipe.run(["status", HistoryFixture.pipeline] + sweep, in: workspace.root)
        #expect(after.stdout.contains("all 8 stages cached"), "\(after)")
        let bad = try pipe.run(["status", HistoryFixture.pipeline, "--sweep", "ppo.lrr=1,2"], in: workspace.root)
        #expect(bad.status == 2 && bad.stderr.contains("lrr"), "\(bad)")
    }

    @Test func badSweepAxisIsAUsageError() throws {
        let workspace = try HistoryFixture.workspace("pipe-sweep-bad")
        defer { workspace.remove() }
        let result = try pipe.run(["run", HistoryFixture.pipeline, "--sweep", "ppo.lrr=1,2"], in: workspace.root)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("lrr"), "\(result)")
    }
}
