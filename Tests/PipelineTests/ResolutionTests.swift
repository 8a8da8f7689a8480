import Foundation
import Testing
@testable import Pipeline

@Suite struct ResolutionTests {
    @Test func resolvesTheSixStagePipeline() throws {
        let ws = try TempWorkspace()
        let p = try ws.load(Fixtures.rlhf)
        #expect(p.name == "rlhf")
        #expect(p.seed == 7)
        #expect(p.stages.map(\.name) == ["tokens", "sft", "pairs", "rm", "ppo", "eval"])
        let sft = try #require(p.stage(named: "sft"))
        #expect(sft.kind == "sft")
        #expect(sft.implementation == .builtin("sft"))
        #expect(sft.implementationVersion == 2)
        #expect(sft.params == [ResolvedParam(name: "lr", value: .float(3e-4)), ResolvedParam(name: "n_layer", value: .int(2)),
                               ResolvedParam(name: "steps", value: .int(100))])
        #expect(sft.inputs.map(\.reference) == ["tokens.tokenizer", "tokens.tokens"])  // sorted by input name
        #expect(sft.outputs == ["model"])
        #expect(sft.resources == Resources(cpus: 1, mem: "2G"))
        #expect(sft.location.line == 5 && sft.location.column == 3)
        #expect(sft.declarationFile?.hasSuffix("stages/sft.yaml") == true)
        let ppo = try #require(p.stage(named: "ppo"))
        #expect(ppo.inputs.map(\.name) == ["policy", "reward"])  // optional 'prompts' unbound
        #expect(ppo.param("prompts_list") == .list([]))
        #expect(ppo.upstreamStages == ["rm", "sft"])
    }

    @Test func resourceFormats() {
        for good in ["4G", "512M", "4096", "1.5G", "2t"] { #expect(ResourcesParser.isMemory(good), "\(good)") }
        for bad in ["4GB", "-1G", "", "G", "lots"] { #expect(!ResourcesParser.isMemory(bad), "\(bad)") }
        for good in ["30m", "90s", "2h", "1d", "45", "10:00", "01:30:00", "1-12", "1-12:30:00"] { #expect(ResourcesParser.isDuration(good), "\(good)") }
        for bad in ["", "m", "soon", "1:2:3:4", "1-", "-1", "1h30m"] { #expect(!ResourcesParser.isDuration(bad), "\(bad)") }
    }

    @Test func stageResourcesOverrideTheDeclaration() throws {
        let ws = try TempWorkspace()
        let p = try ws.load(Fixtures.rlhf.replacingOccurrences(of: "with: { lr: 1.41e-5, init_kl_coef: 0.2 } }",
                                                               with: "resources: { mem: 8G, time: 1h } }"))
        #expect(p.stage(named: "ppo")?.resources == Resources(cpus: 2, mem: "8G", time: "1h"))
    }

    @Test func anchorsAndMergeKeysWork() throws {
        let ws = try TempWorkspace()
        let p = try ws.load("""
            stages:
              a: &tok { uses: tokenise, with: { vocab_size: 100 } }
              b: *tok
              c: { <<: *tok, with: { vocab_size: 20 } }
            """)
        #expect(p.stages.map { $0.param("vocab_size") } == [.int(100), .int(100), .int(20)])
    }

    @Test func explicitStringTagKeepsAScalarAString() throws {
        let ws = try TempWorkspace()
        let p = try ws.load("""
            stages:
              a: { run: "echo ${params.v} ${params.w} > ${outs.o}", outs: [o], with: { v: !!str 12, w: 12 } }
            """)
        #expect(p.stage(named: "a")?.param("v") == .string("12"))
        #expect(p.stage(named: "a")?.param("w") == .int(12))
    }

    @Test func yaml12Numbers() {
        #expect(YAMLScalar.classify("2e-6") == .float(2e-6))
        #expect(YAMLScalar.classify("1.41e-5") == .float(1.41e-5))
        #expect(YAMLScalar.classify(".2") == .float(0.2))
        #expect(YAMLScalar.classify("-3.") == .float(-3))
        #expect(YAMLScalar.classify("12") == .int(12))
        #expect(YAMLScalar.classify("-12") == .int(-12))
        #expect(YAMLScalar.classify("0x1F") == .int(31))
        #expect(YAMLScalar.classify("0o17") == .int(15))
        #expect(YAMLScalar.classify("true") == .bool(true))
        #expect(YAMLScalar.classify("yes") == .string("yes"))
        #expect(YAMLScalar.classify("~") == .null)
        #expect(YAMLScalar.classify("e5") == .string("e5"))
        #expect(YAMLScalar.classify("1e") == .string("1e"))
        #expect(YAMLScalar.classify("1_000") == .string("1_000"))
        #expect(YAMLScalar.classify("99999999999999999999") == .string("99999999999999999999"))
    }

    @Test func setOverridesAreTypedByTheDeclaration() throws {
        let ws = try TempWorkspace()
        let p = try ws.load(Fixtures.rlhf, overrides: ["ppo.lr=3e-5", "ppo.steps=7", "ppo.adaptive_kl=false",
                                                      "ppo.prompts_list=[hello, 'a b', 3]", "ppo.lr=4e-5"])
        let ppo = try #require(p.stage(named: "ppo"))
        #expect(ppo.param("lr") == .float(4e-5))  // the last --set wins
        #expect(ppo.param("steps") == .int(7))
        #expect(ppo.param("adaptive_kl") == .bool(false))
        #expect(ppo.param("prompts_list") == .list([.string("hello"), .string("a b"), .int(3)]))
        #expect(p.overrides.count == 5)
    }

    /// List items have no declared type: `1.0` and `1` are one value (the registry's JSON, which
    /// writes `1.0` as `1`, must give the same key when a run is reproduced from it).
    @Test func wholeNumbersInListsAreInts() throws {
        let ws = try TempWorkspace()
        let written = try ws.load(Fixtures.rlhf, overrides: ["ppo.prompts_list=[1.0, 0.5, -2.0, 1e3, x]"])
        let recorded = try ws.load(Fixtures.rlhf, overrides: ["ppo.prompts_list=[1, 0.5, -2, 1000, x]"])
        let list = try #require(written.stage(named: "ppo")).param("prompts_list")
        #expect(list == .list([.int(1), .float(0.5), .int(-2), .int(1000), .string("x")]))
        #expect(list == (try #require(recorded.stage(named: "ppo")).param("prompts_list")))
    }

    @Test func inlineRunStagesTypeParamsAsYAMLGivesThem() throws {
        let ws = try TempWorkspace()
        let p = try ws.load("""
            stages:
              a:
                run: "python3 plot.py --lr ${params.lr} --n ${params.n} --name ${params.name} > ${outs.o}"
                with: { lr: 1e-3, n: 4, name: "x y", flag: true }
                outs: [o]
            """, overrides: ["a.n=5", "a.lr=2"])
        let a = try #require(p.stage(named: "a"))
        #expect(p.name == "p")  // from the file name
        #expect(a.kind == "run")
        #expect(a.param("lr") == .float(2))  // an int literal where the with: value is a float
        #expect(a.param("n") == .int(5))
        #expect(a.param("name") == .string("x y"))
        #expect(a.param("flag") == .bool(true))
        #expect(throws: PipelineError.self) { try ws.load("stages:\n  a: { run: 'echo > ${outs.o}', outs: [o], with: { n: 4 } }\n", overrides: ["a.n=1.5"]) }
    }

    @Test func commandsExpandWithQuotedPathsAndValues() throws {
        let ws = try TempWorkspace()
        let p = try ws.load("""
            stages:
              a: { run: "echo > ${outs.o}", outs: [o] }
              b:
                run: "python3 plot.py ${inputs.data} --tag ${params.tag} --lr ${params.lr} --xs ${params.xs} ${outs.fig} ${HOME} $$x"
                inputs: { data: a.o }
                deps: [plot.py]
                outs: [fig]
                with: { tag: "it's here", lr: 3e-5, xs: [1, two words] }
            """)
        let b = try #require(p.stage(named: "b"))
        let command = b.expandedCommand(inputPaths: ["data": "/store/objects/ab cd/o"], outputPaths: ["fig": "/scratch/x/fig"])
        #expect(command == #"python3 plot.py '/store/objects/ab cd/o' --tag 'it'\''s here' --lr 3e-05 --xs 1 'two words' /scratch/x/fig ${HOME} $$x"#)
        #expect(b.keyCommand == #"python3 plot.py ${inputs.data} --tag 'it'\''s here' --lr 3e-05 --xs 1 'two words' ${outs.fig} ${HOME} $$x"#)
        #expect(b.deps == ["plot.py"])
        #expect(p.stage(named: "a")?.expandedCommand(inputPaths: [:], outputPaths: ["o": "out"]) == "echo > out")
    }

    @Test func commandTemplateParsing() {
        let t = CommandTemplate("a ${params.x}${inputs.y} ${HOME} ${ ${unclosed.z")
        #expect(t.references.map(\.text) == ["${params.x}", "${inputs.y}"])
        #expect(t.references.map(\.offset) == [2, 13])
        #expect(t.render { ns, name in "<\(ns.rawValue):\(name)>" } == "a <params:x><inputs:y> ${HOME} ${ ${unclosed.z")
        #expect(CommandTemplate("${outs.figs/a.png}").references.first?.name == "figs/a.png")
        #expect(CommandTemplate("é ${params.ü}").references.first?.offset == 2)
    }

    @Test func declaredCommandKindsGetDepsAndCommandFromTheDeclaration() throws {
        let ws = try TempWorkspace()
        let p = try ws.load("""
            stages:
              a: { run: "echo > ${outs.o}", outs: [o] }
              j: { uses: judge, inputs: { model: a.o }, deps: [plot.py], with: { steps: 3 } }
            """)
        let j = try #require(p.stage(named: "j"))
        #expect(j.commandTemplate == "python3 judge.py ${inputs.model} ${params.steps} ${outs.report}")
        #expect(j.deps == ["judge.py", "plot.py"])
        #expect(j.expandedCommand(inputPaths: ["model": "m"], outputPaths: ["report": "r"]) == "python3 judge.py m 3 r")
        #expect(ShellQuote.quote("") == "''")
        #expect(ShellQuote.quote("a/b-c.d") == "a/b-c.d")
    }

    @Test func metricsFilesAreLocatedInTheirOutputs() throws {
        let ws = try TempWorkspace(Fixtures.declarations.merging([
            "stages/scorer.yaml": "kind: scorer\nversion: 1\nrun: \"echo > ${outs.report}\"\noutputs: { report: {} }\nmetrics: [report/metrics.yaml]\n",
        ]) { $1 })
        let p = try ws.load("""
            stages:
              a: { run: "echo > ${outs.m.json}", outs: [m.json, results, results/deep], metrics: [m.json, results/deep/x.JSON, ./results/y.yml] }
              s: { uses: scorer }
            """)
        let a = try #require(p.stage(named: "a"))
        #expect(a.metricsFiles.map(\.path) == ["m.json", "results/deep/x.JSON", "results/y.yml"])
        #expect(a.metricsFiles.map(\.output) == ["m.json", "results/deep", "results"])
        #expect(a.metricsFiles.map(\.format) == [.json, .json, .yaml])
        #expect(a.metricsFiles.map(\.commandReference) == ["${outs.m.json}", "${outs.results/deep}/x.JSON", "${outs.results}/y.yml"])
        let s = try #require(p.stage(named: "s"))
        #expect(s.metricsFiles.map(\.commandReference) == ["${outs.report}/metrics.yaml"])
    }

    @Test func topologicalOrderIsStableAndFollowsFileOrderOnTies() throws {
        let ws = try TempWorkspace()
        let p = try ws.load("""
            stages:
              z: { run: "cat ${inputs.a} ${inputs.b} > ${outs.o}", inputs: { a: y.o, b: x.o }, outs: [o] }
              y: { run: "cat ${inputs.a} > ${outs.o}", inputs: { a: w.o }, outs: [o] }
              x: { run: "echo > ${outs.o}", outs: [o] }
              w: { run: "echo > ${outs.o}", outs: [o] }
              v: { run: "echo > ${outs.o}", outs: [o] }
            """)
        #expect(p.stages.map(\.name) == ["x", "w", "y", "z", "v"])
        #expect(p.graph.dependents(of: "w") == ["y", "z"])
        #expect(p.graph.ancestors(of: "z") == ["x", "w", "y"])
        #expect(p.graph.directDependencies(of: "z") == ["y", "x"])
        #expect(p.graph.directDependents(of: "x") == ["z"])
        #expect(p.graph.ancestors(of: "v").isEmpty)
    }

    @Test func cycleMessageListsTheWholeCycle() {
        #expect(throws: StageGraph.Failure.cycle(["b", "c", "d", "b"])) {
            try StageGraph(names: ["a", "b", "c", "d"], upstreamOf: ["b": ["a", "d"], "c": ["b"], "d": ["c"]])
        }
    }

    @Test func workspaceIsFoundByWalkingUp() throws {
        let ws = try TempWorkspace()
        try ws.write("pipelines/deep/er/p.yaml", Fixtures.rlhf)
        let found = try Workspace.locate(pipelineFile: ws.path("pipelines/deep/er/p.yaml"))
        #expect(found.root == ws.root)
        // The fixture's own kinds, and the built-in ones it does not declare itself.
        #expect(found.declaredKinds() == ["dataset", "dpo", "evaluate", "grpo", "judge", "ppo", "rm", "rm-pairs", "sft", "tokenise"])
        #expect(try found.loadAllDeclarations().map(\.kind) == found.declaredKinds())
        let ppo = try found.loadDeclaration(kind: "ppo")
        #expect(ppo.params.map(\.name) == ["lr", "init_kl_coef", "steps", "adaptive_kl", "prompts_list"])
        #expect(ppo.input("prompts")?.optional == true)
        #expect(ppo.param("init_kl_coef")?.min == 0)
        #expect(ppo.param("init_kl_coef")?.minDescription == "0.0")
        #expect(ppo.param("steps")?.minDescription == "1")
        #expect(ppo.param("steps")?.maxDescription == nil)
    }

    @Test func brokenUnusedDeclarationsDoNotBreakALoad() throws {
        // Only the kinds a pipeline uses are read, so a broken unrelated file is not an error here…
        let ws = try TempWorkspace(Fixtures.declarations.merging(["stages/broken.yaml": "kind: [\n"]) { $1 })
        _ = try ws.load(Fixtures.rlhf)
        // …but `pipe stages` (all declarations) reports it.
        #expect(throws: PipelineError.self) { try ws.workspace.loadAllDeclarations() }
    }
}
