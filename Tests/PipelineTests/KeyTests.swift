import Foundation
import Hashing
import Testing
@testable import Pipeline

private func sha(_ text: String) -> Digest { SHA256.hash(text) }

private let environment = ["blas": "openblas-0.3.21", "arch": "x86_64"]

/// A ppo declaration with every param type, for the golden key.
private let goldenPPO = """
    kind: ppo
    version: 1
    builtin: ppo
    inputs: { policy: {}, reward: {} }
    outputs: { model: {} }
    params:
      lr:           { type: float, default: 1e-3 }
      init_kl_coef: { type: float, default: 0.2 }
      steps:        { type: int, default: 100 }
      adaptive_kl:  { type: bool, default: true }
      prompts_list: { type: list, default: [] }
      strategy:     { type: string, default: labels }
    """

private let goldenPipeline = """
    name: golden
    seed: 42
    stages:
      sft: { run: "echo > ${outs.model}", outs: [model] }
      rm: { run: "echo > ${outs.model}", outs: [model] }
      ppo:
        uses: ppo
        inputs: { policy: sft.model, reward: rm.model }
        with: { steps: 100, lr: 1.41e-5, prompts_list: ["a b", 3] }
      report:
        run: "python3 plot.py ${inputs.m} ${outs.plot} --lr ${params.lr}"
        inputs: { m: ppo.model }
        deps: [plot.py]
        outs: [plot]
        with: { lr: 1e-3 }
    """

@Suite struct KeyTests {
    private func load(_ pipeline: String = goldenPipeline, overrides: [String] = [],
                      declarations: [String: String] = ["stages/ppo.yaml": goldenPPO]) throws -> ResolvedPipeline {
        let ws = try TempWorkspace(Fixtures.declarations.merging(declarations) { $1 })
        return try ws.load(pipeline, overrides: overrides)
    }

    private func ppoKey(_ stage: ResolvedStage, seed: UInt64 = 42, env: [String: String] = environment,
                        policy: String = "policy") -> KeyMaterial {
        stage.keyMaterial(inputDigests: ["policy": sha(policy), "reward": sha("reward")], depDigests: [:],
                          environment: env, seed: seed)
    }

    /// Pinned, and checked once against the independent encoder in key_golden.py.
    @Test func goldenBuiltinKey() throws {
        let material = KeyMaterial(
            kind: "ppo", implementationVersion: 1,
            params: [ResolvedParam(name: "lr", value: .float(1.41e-5)), ResolvedParam(name: "init_kl_coef", value: .float(0.2)),
                     ResolvedParam(name: "steps", value: .int(100)), ResolvedParam(name: "adaptive_kl", value: .bool(true)),
                     ResolvedParam(name: "prompts_list", value: .list([.string("a b"), .int(3)])),
                     ResolvedParam(name: "strategy", value: .string("labels"))],
            inputs: [.init(name: "reward", digest: sha("reward"), source: "rm.model"),
                     .init(name: "policy", digest: sha("policy"), source: "sft.model")],
            command: nil, deps: [],
            environment: [.init(name: "blas", value: "openblas-0.3.21"), .init(name: "arch", value: "x86_64")], seed: 42)
        #expect(material.key.hex == "8bb88a6fc11cccaf17cd888e941c9aae79c486956a9e08ec4677b55a2459606f")
        // The same stage loaded from YAML (defaults filled in, params typed) has the same key.
        let stage = try #require(try load().stage(named: "ppo"))
        #expect(ppoKey(stage).key == material.key)
    }

    @Test func goldenCommandKey() throws {
        let stage = try #require(try load().stage(named: "report"))
        #expect(stage.keyCommand == "python3 plot.py ${inputs.m} ${outs.plot} --lr 0.001")
        let material = stage.keyMaterial(inputDigests: ["m": sha("metrics")], depDigests: ["plot.py": sha("print('plot')\n")],
                                         environment: [:], seed: 7)
        #expect(material.key.hex == "4934607346105fa1c968a516ee4d4474298a4e5b77f4b5d219efd4e2abe9eb3a")
    }

    @Test(arguments: ["2e-6", "2.0e-6", "0.000002", "2E-6", "+2e-6"])
    func equalFloatsSpelledDifferentlyGiveTheSameKey(_ spelling: String) throws {
        let reference = try load(overrides: ["ppo.lr=2e-6"]).stage(named: "ppo")!
        let other = try load(goldenPipeline.replacingOccurrences(of: "lr: 1.41e-5", with: "lr: \(spelling)")).stage(named: "ppo")!
        #expect(ppoKey(other).key == ppoKey(reference).key)
        #expect(other.param("lr") == .float(2e-6))
    }

    @Test func intLiteralForAFloatParamIsTheSameFloat() throws {
        let a = try load(overrides: ["ppo.lr=1"]).stage(named: "ppo")!
        let b = try load(overrides: ["ppo.lr=1.0"]).stage(named: "ppo")!
        #expect(a.param("lr") == .float(1))
        #expect(ppoKey(a).key == ppoKey(b).key)
    }

    @Test func paramOrderInYAMLDoesNotMatter() throws {
        let a = try load().stage(named: "ppo")!
        let b = try load(goldenPipeline.replacingOccurrences(of: "with: { steps: 100, lr: 1.41e-5, prompts_list: [\"a b\", 3] }",
                                                             with: "with: { prompts_list: [\"a b\", 3], lr: 1.41e-5, steps: 100 }")).stage(named: "ppo")!
        #expect(ppoKey(a).key == ppoKey(b).key)
    }

    @Test func defaultsAreExplicitInTheKey() throws {
        // Writing a default out changes nothing; the default is in the key either way.
        let a = try load().stage(named: "ppo")!
        let b = try load(overrides: ["ppo.init_kl_coef=0.2", "ppo.strategy=labels"]).stage(named: "ppo")!
        #expect(ppoKey(a).key == ppoKey(b).key)
        #expect(ppoKey(a).params.map(\.name) == ["adaptive_kl", "init_kl_coef", "lr", "prompts_list", "steps", "strategy"])
    }

    @Test func aParamAddedWithKeyUnlessDefaultKeepsExistingKeys() throws {
        // The kind gains a param whose default does what the kind did before: no key moves until it is set.
        let grown = goldenPPO + "\n  gold_every: { type: int, default: 0, key: unless_default }\n"
        let before = try load().stage(named: "ppo")!
        let after = try load(declarations: ["stages/ppo.yaml": grown]).stage(named: "ppo")!
        let written = try load(overrides: ["ppo.gold_every=0"], declarations: ["stages/ppo.yaml": grown]).stage(named: "ppo")!
        let set = try load(overrides: ["ppo.gold_every=5"], declarations: ["stages/ppo.yaml": grown]).stage(named: "ppo")!
        #expect(ppoKey(after).key == ppoKey(before).key)
        #expect(ppoKey(written).key == ppoKey(before).key)
        #expect(ppoKey(set).key != ppoKey(before).key)
        #expect(ppoKey(set).params.contains { $0.name == "gold_every" })
        // The stage still receives the param.
        #expect(after.params.contains { $0.name == "gold_every" })
    }

    @Test func stageNameAndInputSourceAreNotInTheKey() throws {
        let renamed = goldenPipeline.replacingOccurrences(of: "  ppo:\n", with: "  policy_opt:\n")
            .replacingOccurrences(of: "ppo.model", with: "policy_opt.model")
            .replacingOccurrences(of: "rm: {", with: "judge: {").replacingOccurrences(of: "reward: rm.model", with: "reward: judge.model")
        let a = try load().stage(named: "ppo")!
        let b = try #require(try load(renamed).stage(named: "policy_opt"))
        #expect(ppoKey(a).key == ppoKey(b).key)
        #expect(ppoKey(b).inputs.first { $0.name == "reward" }?.source == "judge.model")
    }

    @Test func everyIngredientChangesTheKey() throws {
        let stage = try load().stage(named: "ppo")!
        let base = ppoKey(stage)
        var variants: [(String, KeyMaterial)] = []
        var m = base; m.scheme = "pipe.key.v2"; variants.append(("scheme", m))
        m = base; m.kind = "ppo2"; variants.append(("kind", m))
        m = base; m.implementationVersion = 2; variants.append(("version", m))
        m = base; m.params[2].value = .float(3e-5); variants.append(("param value", m))
        m = base; m.params[1].value = .int(0); variants.append(("param type", m))
        m = base; m.params.removeLast(); variants.append(("param removed", m))
        m = base; m.inputs[0].digest = sha("other"); variants.append(("input digest", m))
        m = base; m.command = "echo"; variants.append(("command", m))
        m = base; m.deps = [.init(path: "train.py", digest: sha("x"))]; variants.append(("dep", m))
        m = base; m.environment[1].value = "mkl"; variants.append(("environment", m))
        m = base; m.seed = 43; variants.append(("seed", m))
        var keys = Set([base.key])
        for (what, material) in variants {
            #expect(material.key != base.key, "\(what) must change the key")
            keys.insert(material.key)
        }
        #expect(keys.count == variants.count + 1)
        // Order of the public lists does not matter (they are sorted before encoding).
        m = base; m.params.reverse(); m.environment.reverse()
        #expect(m.key == base.key)
        // Only the informational source may change without changing the key.
        m = base; m.inputs[0].source = "elsewhere.model"
        #expect(m.key == base.key)
        // And the command stage: the command and dep digests are ingredients.
        let report = try load().stage(named: "report")!
        let k1 = report.keyMaterial(inputDigests: ["m": sha("m")], depDigests: ["plot.py": sha("a")], environment: [:], seed: 1)
        let k2 = report.keyMaterial(inputDigests: ["m": sha("m")], depDigests: ["plot.py": sha("b")], environment: [:], seed: 1)
        let k3 = try load(overrides: ["report.lr=0.002"]).stage(named: "report")!
            .keyMaterial(inputDigests: ["m": sha("m")], depDigests: ["plot.py": sha("a")], environment: [:], seed: 1)
        #expect(k1.key != k2.key)
        #expect(k1.key != k3.key)
    }

    @Test func keyMaterialSurvivesAJSONRoundTrip() throws {
        var material = ppoKey(try load().stage(named: "ppo")!)
        material.params[2].value = .float(4.0)  // an integral float must stay a float
        let data = try JSONEncoder().encode(material)
        let decoded = try JSONDecoder().decode(KeyMaterial.self, from: data)
        #expect(decoded == material)
        #expect(decoded.key == material.key)
    }

    @Test func changesAreExplainedInWords() throws {
        let before = ppoKey(try load(overrides: ["ppo.lr=1e-5"]).stage(named: "ppo")!, env: environment)
        var after = ppoKey(try load(overrides: ["ppo.lr=3e-5", "ppo.steps=5"]).stage(named: "ppo")!,
                           env: ["blas": "openblas-0.3.26", "arch": "x86_64"], policy: "new policy")
        after.implementationVersion = 2
        after.command = "x"
        after.deps = [.init(path: "train.py", digest: sha("t"))]
        var older = before
        older.deps = [.init(path: "train.py", digest: sha("t0"))]
        #expect(after.changes(from: older) == [
            "implementation version 1 → 2",
            "param lr changed 1e-05 → 3e-05",
            "param steps changed 100 → 5",
            "input policy changed (sft.model)",
            "command changed",
            "dep train.py changed",
            "environment changed: blas",
        ])
        #expect(before.changes(from: before).isEmpty)
        var seeded = before; seeded.seed = 1
        #expect(seeded.changes(from: before) == ["seed changed 42 → 1"])
    }

    @Test func aParamInterpolatedIntoTheCommandIsNotAlsoReportedAsACommandChange() throws {
        let before = try load().stage(named: "report")!
        let after = try load(overrides: ["report.lr=0.002"]).stage(named: "report")!
        func material(_ stage: ResolvedStage) -> KeyMaterial {
            stage.keyMaterial(inputDigests: ["m": sha("m")], depDigests: ["plot.py": sha("a")], environment: [:], seed: 1)
        }
        let old = material(before), new = material(after)
        #expect(new.key != old.key)
        #expect(new.command != old.command)
        #expect(new.changes(from: old, commandTemplate: after.commandTemplate) == ["param lr changed 0.001 → 0.002"])
        // Without the template (or with an edited one) the command line is still reported.
        #expect(new.changes(from: old) == ["param lr changed 0.001 → 0.002", "command changed"])
        #expect(new.changes(from: old, commandTemplate: "python3 plot2.py ${params.lr}")
                == ["param lr changed 0.001 → 0.002", "command changed"])
    }
}
