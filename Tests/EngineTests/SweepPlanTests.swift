@testable import Engine
import Foundation
import Pipeline
import Store
import Testing
import WorkspaceTestSupport

@Suite("Sweep plan: variants merged into one DAG")
struct SweepPlanTests {
    static let pipelineText = """
    name: grid
    stages:
      data:  { run: "echo data > ${outs.x}", outs: [x] }
      prep:  { run: "cat ${inputs.d} > ${outs.x}; echo ${params.n} >> ${outs.x}", inputs: { d: data.x }, outs: [x], with: { n: 1 } }
      train: { run: "cat ${inputs.p} > ${outs.x}; echo ${params.lr} ${params.kl} >> ${outs.x}", inputs: { p: prep.x }, outs: [x], with: { lr: 0.1, kl: 0.2 } }
      eval:  { run: "cat ${inputs.t} > ${outs.x}", inputs: { t: train.x }, outs: [x] }

    """

    func variants(_ sweeps: [String], in workspace: TestWorkspace) throws -> [SweepVariant] {
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/p.yaml", Self.pipelineText)
        let file = workspace.path("pipelines/p.yaml")
        return try PipelineLoader(workspace: Workspace.locate(pipelineFile: file)).loadSweep(file: file, sweeps: sweeps)
    }

    @Test func sharedUpstreamStagesBecomeOneNodeAndSweptOnesGetReadableNames() throws {
        let workspace = try TestWorkspace("pipe-sweep-plan")
        defer { workspace.remove() }
        let plan = try SweepPlan(variants: variants(["train.lr=0.1,0.3", "train.kl=0.2,0.4"], in: workspace))
        #expect(plan.variants.count == 4)
        // Full labels would not fit the live view's name column: values only, axes named once.
        #expect(plan.labelAxes == ["train.lr", "train.kl"])
        #expect(plan.nodes.map(\.name) == [
            "data", "prep", "train[0.1,0.2]", "eval[0.1,0.2]", "train[0.1,0.4]", "eval[0.1,0.4]",
            "train[0.3,0.2]", "eval[0.3,0.2]", "train[0.3,0.4]", "eval[0.3,0.4]",
        ])
        #expect(plan.nodes[0].variants == [0, 1, 2, 3])
        // Each variant's eval reads its own train, and every train the shared prep.
        let eval = try #require(plan.pipeline.stage(named: "eval[0.3,0.2]"))
        #expect(eval.inputs.map(\.stage) == ["train[0.3,0.2]"])
        #expect(plan.pipeline.stage(named: "train[0.3,0.2]")?.inputs.map(\.stage) == ["prep"])
        #expect(plan.nodeOf[2]["train"] == "train[0.3,0.2]")
        #expect(plan.nodeOf[2]["data"] == "data")
        #expect(plan.uses(ofNode: "prep").map(\.variant) == [0, 1, 2, 3])
        #expect(plan.uses(ofNode: "prep").allSatisfy { $0.stage.name == "prep" })
    }

    @Test func aSweptUpstreamParamSplitsEverythingBelowItAndNamesTheSharedPart() throws {
        let workspace = try TestWorkspace("pipe-sweep-plan-up")
        defer { workspace.remove() }
        let plan = try SweepPlan(variants: variants(["prep.n=1,2", "train.lr=0.1,0.3"], in: workspace))
        let names = plan.nodes.map(\.name)
        #expect(names.filter { $0.hasPrefix("data") } == ["data"])
        // prep has two nodes, each shared by the two train variants below it.
        #expect(names.filter { $0.hasPrefix("prep") } == ["prep[1]", "prep[2]"])
        #expect(names.filter { $0.hasPrefix("train") }.count == 4)
        #expect(Set(names).count == names.count)
    }

    @Test func shortLabelsNameTheParams() throws {
        let workspace = try TestWorkspace("pipe-sweep-plan-short")
        defer { workspace.remove() }
        let plan = try SweepPlan(variants: variants(["prep.n=1,2"], in: workspace))
        #expect(plan.labelAxes == nil)
        #expect(plan.nodes.map(\.name) == ["data", "prep[prep.n=1]", "train[prep.n=1]", "eval[prep.n=1]",
                                           "prep[prep.n=2]", "train[prep.n=2]", "eval[prep.n=2]"])
    }

    @Test func runningTheMergedPipelineBuildsSharedStagesOnce() throws {
        let workspace = try TestWorkspace("pipe-sweep-plan-run")
        defer { workspace.remove() }
        let plan = try SweepPlan(variants: variants(["train.lr=0.1,0.3"], in: workspace))
        let store = try ArtifactStore(root: workspace.path("artifacts"))
        let executor = RecordingExecutor()
        let report = RunSession(pipeline: plan.pipeline, store: store, executor: executor, display: RecordingDisplay(),
                                options: RunOptions(jobs: 2)).run()
        #expect(report.status == .succeeded)
        #expect(executor.started.filter { $0 == "data" }.count == 1)
        #expect(executor.started.filter { $0 == "prep" }.count == 1)
        #expect(executor.started.filter { $0.hasPrefix("train[") }.count == 2)
        #expect(executor.started.count == 6)
    }
}
