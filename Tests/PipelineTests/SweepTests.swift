import Foundation
import Hashing
import Testing
@testable import Pipeline

@Suite struct SweepTests {
    private let sweepBlock = """

        sweep:
          ppo.lr: [1.41e-5, 3e-5]
          ppo.init_kl_coef: [0.1, 0.2]
          variants:
            - { ppo.lr: 1e-4, ppo.steps: 10 }
          metric: eval/reward
          goal: max
        """

    private func loader(_ ws: TempWorkspace, _ text: String) throws -> (PipelineLoader, String) {
        try ws.write("pipelines/s.yaml", text)
        return (PipelineLoader(workspace: ws.workspace), ws.path("pipelines/s.yaml"))
    }

    @Test func gridThenExplicitVariantsWithReadableNames() throws {
        let ws = try TempWorkspace()
        let (loader, file) = try loader(ws, Fixtures.rlhf + sweepBlock)
        let variants = try loader.loadSweep(file: file)
        #expect(variants.map(\.name) == [
            "ppo.lr=1.41e-05,ppo.init_kl_coef=0.1",
            "ppo.lr=1.41e-05,ppo.init_kl_coef=0.2",
            "ppo.lr=3e-05,ppo.init_kl_coef=0.1",
            "ppo.lr=3e-05,ppo.init_kl_coef=0.2",
            "ppo.lr=0.0001,ppo.steps=10",
        ])
        #expect(variants[2].pipeline.stage(named: "ppo")?.param("lr") == .float(3e-5))
        #expect(variants[4].pipeline.stage(named: "ppo")?.param("steps") == .int(10))
        // Upstream stages are identical in every variant, so their keys are shared.
        #expect(Set(variants.map { $0.pipeline.stage(named: "sft")! }).count == 1)
        #expect(variants[0].pipeline.sweep?.metric == "eval/reward")
        #expect(variants[0].pipeline.sweep?.maximize == true)
    }

    @Test func commandLineAxesReplaceOrExtendTheFileGrid() throws {
        let ws = try TempWorkspace()
        let (loader, file) = try loader(ws, Fixtures.rlhf + sweepBlock)
        let variants = try loader.loadSweep(file: file, overrides: [try ParamOverride.parse("sft.steps=5")],
                                            sweeps: ["ppo.init_kl_coef=0.05", "ppo.prompts_list=[a, b],[c]"])
        #expect(variants.map(\.name) == [
            "ppo.lr=1.41e-05,ppo.init_kl_coef=0.05,ppo.prompts_list=[a, b]",
            "ppo.lr=1.41e-05,ppo.init_kl_coef=0.05,ppo.prompts_list=[c]",
            "ppo.lr=3e-05,ppo.init_kl_coef=0.05,ppo.prompts_list=[a, b]",
            "ppo.lr=3e-05,ppo.init_kl_coef=0.05,ppo.prompts_list=[c]",
            "ppo.lr=0.0001,ppo.steps=10",
        ])
        #expect(variants.allSatisfy { $0.pipeline.stage(named: "sft")?.param("steps") == .int(5) })
        let onlyCommandLine = try loader.loadSweep(file: file, sweeps: ["ppo.lr=1e-5,2e-5"], includeFileSweep: false)
        #expect(onlyCommandLine.map(\.name) == ["ppo.lr=1e-05", "ppo.lr=2e-05"])
    }

    /// `seed` sweeps the pipeline's seed: every stage gets it, so every key differs per seed, and
    /// `--set seed=` moves the base. RL outcomes move with the seed: this is how arms get ≥ 3 draws.
    @Test func theSeedIsSweepableAndSettable() throws {
        let ws = try TempWorkspace()
        let (loader, file) = try loader(ws, Fixtures.rlhf + "\nsweep:\n  seed: [1, 2]\n")
        let variants = try loader.loadSweep(file: file, sweeps: ["ppo.lr=1e-5,2e-5"])
        #expect(variants.map(\.name) == ["seed=1,ppo.lr=1e-05", "seed=1,ppo.lr=2e-05", "seed=2,ppo.lr=1e-05", "seed=2,ppo.lr=2e-05"])
        #expect(variants.map(\.pipeline.seed) == [1, 1, 2, 2])
        #expect(variants.allSatisfy { v in v.pipeline.stages.allSatisfy { $0.seed == v.pipeline.seed } })
        let fromCommandLine = try loader.loadSweep(file: file, sweeps: ["seed=7,8"])
        #expect(fromCommandLine.map(\.name) == ["seed=7", "seed=8"])
        let set = try loader.loadSweep(file: file, overrides: [try ParamOverride.parse("seed=5")], includeFileSweep: false)
        #expect(set.map(\.pipeline.seed) == [5])
        #expect(throws: PipelineError.self) {
            _ = try loader.loadSweep(file: file, overrides: [try ParamOverride.parse("seed=-1")], includeFileSweep: false)
        }
    }

    /// Variants are made by re-typing only the swept params of the resolved base: each must be
    /// exactly what resolving the whole pipeline with its overrides gives (same stages, so the
    /// same keys), for declared params, a `key: unless_default` one, an inline `run:` stage's
    /// params and the seed; and bad values are reported as a full resolution reports them.
    @Test func variantsEqualAFullResolutionOfTheirOverrides() throws {
        var files = Fixtures.declarations
        files["stages/ppo.yaml"] = files["stages/ppo.yaml"]!.replacingOccurrences(
            of: "params:\n", with: "params:\n  gold_every: { type: int, default: 0, key: unless_default }\n")
        let ws = try TempWorkspace(files)
        let text = Fixtures.rlhf + """

              plot:   { run: "echo ${params.width} ${params.title} > ${outs.png}", inputs: { m: eval.metrics }, outs: [png], with: { width: 3, title: a } }
            sweep:
              seed: [1, 7]
              variants:
                - { ppo.gold_every: 0, plot.title: b }
                - { ppo.gold_every: 5, sft.lr: 1e-3 }
            """
        let (loader, file) = try loader(ws, text)
        let set = [try ParamOverride.parse("ppo.steps=3"), try ParamOverride.parse("plot.width=4")]
        let sweeps = ["ppo.lr=1e-5,2e-5", "plot.width=5,6", "ppo.init_kl_coef=0.2"]
        let variants = try loader.loadSweep(file: file, overrides: set, sweeps: sweeps)
        #expect(variants.count == 2 * 2 * 2 + 2)
        let parsed = try loader.parse(file: file)
        var declarations = DeclarationCache(workspace: ws.workspace)
        let base = try parsed.resolve(overrides: set, declarations: &declarations)
        for variant in variants {
            let full = try parsed.resolve(overrides: set + variant.overrides, declarations: &declarations)
            // The shortcut is what made the variant (not a fallback to full resolution).
            #expect(parsed.patch(base, with: variant.overrides, declarations: &declarations)?.stages == full.stages, "\(variant.name)")
            #expect(variant.pipeline.stages == full.stages, "\(variant.name)")
            #expect(variant.pipeline.seed == full.seed)
            #expect(variant.pipeline.overrides.map(\.description) == full.overrides.map(\.description))
            for (a, b) in zip(variant.pipeline.stages, full.stages) {
                let material = { (s: ResolvedStage) in
                    s.keyMaterial(inputDigests: Dictionary(uniqueKeysWithValues: s.inputs.map { ($0.name, SHA256.hash($0.reference)) }),
                                  depDigests: [:], environment: [:], seed: s.seed).key
                }
                #expect(material(a) == material(b))
            }
        }
        #expect(variants.contains { $0.pipeline.stage(named: "ppo")?.nonKeyParams.contains("gold_every") == true })
        #expect(variants.contains { $0.pipeline.stage(named: "ppo")?.nonKeyParams.contains("gold_every") == false })
        #expect(variants.contains { $0.pipeline.stage(named: "plot")?.param("title") == .string("b") })

        // A bad swept value: the same report as resolving that variant in full.
        for bad in ["ppo.lr=1e-5,fast", "plot.width=5,wide", "plot.height=1,2", "ppo.nope=1", "seed=1,-2"] {
            var fromSweep = ""
            do { _ = try loader.loadSweep(file: file, sweeps: [bad], includeFileSweep: false) } catch { fromSweep = error.description }
            var fromResolve: [String] = []
            let axis = try PipelineLoader.parseSweepAxis(bad)
            for value in axis.values {
                let override = ParamOverride(stage: axis.stage, param: axis.param, value: value, origin: axis.origin ?? "sweep", location: nil)
                do { _ = try parsed.resolve(overrides: [override], declarations: &declarations) } catch { fromResolve.append(error.description) }
            }
            #expect(!fromResolve.isEmpty, "\(bad)")
            #expect(!fromSweep.isEmpty && fromResolve.allSatisfy { fromSweep.contains($0) }, "\(bad): \(fromSweep) vs \(fromResolve)")
        }
    }

    @Test func noSweepIsOneBaseVariantAndDuplicatesCollapse() throws {
        let ws = try TempWorkspace()
        let (loader, file) = try loader(ws, Fixtures.rlhf)
        #expect(try loader.loadSweep(file: file).map(\.name) == ["base"])
        // 2e-5 and 2.0e-5 are the same value: one variant.
        #expect(try loader.loadSweep(file: file, sweeps: ["ppo.lr=2e-5,2.0e-5,0.00002"]).map(\.name) == ["ppo.lr=2e-05"])
    }

    @Test func badSweepsAreReported() throws {
        let ws = try TempWorkspace()
        let (loader, file) = try loader(ws, Fixtures.rlhf)
        func message(_ sweeps: [String]) -> String? {
            do { _ = try loader.loadSweep(file: file, sweeps: sweeps); return nil } catch { return error.description }
        }
        #expect(message(["ppo.lrr=1,2"]) == "error: --sweep ppo.lrr=1,2: stage 'ppo': unknown param 'lrr' (did you mean 'lr'?)")
        #expect(message(["ppo.steps=1,2.5"]) == "error: --sweep ppo.steps=1,2.5: stage 'ppo': param 'steps': expected int, found float 2.5 (allowed: whole numbers from 1)")
        #expect(message(["ppo.steps"]) == "error: --sweep ppo.steps: expected stage.param=v1,v2 (e.g. --sweep ppo.lr=1e-5,3e-5)")
        #expect(message(["ppo.steps=1,"]) == "error: --sweep ppo.steps=1,: missing value after '='")
    }

    /// Before, a grid of ten axes of ten values (10^10 variants) was expanded in memory: `pipe
    /// status` grew past 11 GB and never answered.
    @Test func aGridWithTooManyVariantsIsRefusedBeforeItIsExpanded() throws {
        let ws = try TempWorkspace()
        let params = (0..<10).map { "p\($0): 0" }.joined(separator: ", ")
        let axes = (0..<10).map { "  a.p\($0): [" + (0..<10).map(String.init).joined(separator: ", ") + "]\n" }.joined()
        let (loader, file) = try loader(ws, "name: t\nstages:\n  a: { run: \"echo > ${outs.o}\", outs: [o], with: { \(params) } }\nsweep:\n" + axes)
        let start = ContinuousClock.now
        do {
            _ = try loader.loadSweep(file: file)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "\(file):9:3: error: sweep: the grid (" + Array(repeating: "10", count: 10).joined(separator: " × ")
                    + " values) has 10000000000 variants, more than 10000; sweep fewer values or split the study into several sweeps")
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        // On the command line: 101 × 100 with the file's grid left out.
        let wide = "a.p0=" + (0...100).map(String.init).joined(separator: ",")
        do {
            _ = try loader.loadSweep(file: file, sweeps: [wide, "a.p1=" + (0..<100).map(String.init).joined(separator: ",")], includeFileSweep: false)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix("error: --sweep a.p1=0,1,2,"), "\(error)")
            #expect(error.description.hasSuffix(": sweep: the grid (101 × 100 values) has 10100 variants, more than 10000; sweep fewer values or split the study into several sweeps"), "\(error)")
        }
        // At the limit it expands.
        #expect(try loader.loadSweep(file: file, sweeps: ["a.p0=" + (0..<100).map(String.init).joined(separator: ","),
                                                          "a.p1=" + (0..<100).map(String.init).joined(separator: ",")],
                                     includeFileSweep: false).count == 10_000)
    }

    @Test func badSweepBlockIsReportedWithPositions() throws {
        let ws = try TempWorkspace()
        let message = ws.error(Fixtures.rlhf + """

            sweep:
              ppo.steps: [1, 0.5]
              pp.lr: [1]
              variants:
                - { ppo.steps: 0 }
            """)
        #expect(message == """
            pipelines/p.yaml:11:18: error: sweep: stage 'ppo': param 'steps': expected int, found float 0.5 (allowed: whole numbers from 1)
            pipelines/p.yaml:12:3: error: sweep: unknown stage 'pp' (did you mean 'ppo'?)
            pipelines/p.yaml:14:20: error: sweep: stage 'ppo': param 'steps': 0 is below the minimum 1
            """)
        #expect(ws.error(Fixtures.rlhf + "\nsweep:\n  goal: maxi\n")
                == "pipelines/p.yaml:11:9: error: sweep: goal must be 'max' or 'min', not 'maxi' (did you mean 'max'?)")
    }
}
