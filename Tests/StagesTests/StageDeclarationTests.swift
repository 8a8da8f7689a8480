import Pipeline
import PipeTestSupport
import Testing
@testable import Stages

/// `stages/<kind>.yaml` is the one place where a built-in's params and defaults live: every built-in
/// has a declaration, every declaration names a built-in that exists, and each built-in reads exactly
/// the params its declaration (with its include groups) has — no more, no fewer.
@Suite struct StageDeclarationTests {
    let workspace = Workspace(root: DirectoryStageContext.repositoryRoot)

    @Test func everyBuiltinHasADeclarationAndTheReverse() throws {
        let builtins = Set(Builtins.all.map { $0.kind })
        var declared: Set<String> = []
        for declaration in try workspace.loadAllDeclarations() {
            guard case .builtin(let name) = declaration.implementation else { continue }
            #expect(name == declaration.kind, "\(declaration.file): builtin '\(name)' must equal its kind")
            #expect(builtins.contains(name), "\(declaration.file) declares builtin '\(name)', which does not exist")
            declared.insert(name)
        }
        #expect(builtins.subtracting(declared).isEmpty, "built-ins without a declaration: \(builtins.subtracting(declared).sorted())")
    }

    @Test(arguments: Builtins.all.map { $0.kind })
    func builtinReadsExactlyTheDeclaredParams(kind: String) throws {
        let stage = try #require(Builtins.all.first { $0.kind == kind })
        let declaration = try workspace.loadDeclaration(kind: kind)
        let defaults = try DirectoryStageContext.declaredParams(kind: kind, overrides: [:])
        // Reads nothing the declaration lacks: the declared defaults alone are enough.
        try stage.checkParams(defaults)
        // Reads everything it declares: without any one of them, reading fails naming it.
        for param in declaration.params {
            var values = defaults.values
            values[param.name] = nil
            do {
                try stage.checkParams(StageParams(values))
                Issue.record("\(declaration.file) declares '\(param.name)', which the \(kind) built-in never reads")
            } catch let error as StageError {
                #expect("\(error)".contains("'\(param.name)'"), "\(kind): missing '\(param.name)' reported as: \(error)")
            }
        }
    }

    @Test func trainingStagesShareTheOptimiserParams() throws {
        for kind in ["sft", "rm", "ppo", "grpo"] {
            let names = Set(try workspace.loadDeclaration(kind: kind).params.map(\.name))
            for shared in ["lr", "min_lr_ratio", "warmup_steps", "weight_decay", "beta1", "beta2", "adam_epsilon", "grad_clip", "checkpoint_every"] {
                #expect(names.contains(shared), "\(kind) lacks the optimiser param '\(shared)'")
            }
        }
        // Per-kind defaults over the group's.
        let sft = try DirectoryStageContext.declaredParams(kind: "sft", overrides: [:])
        #expect(try sft.double("beta2") == 0.95 && sft.double("lr") == 6e-4)
        let ppo = try DirectoryStageContext.declaredParams(kind: "ppo", overrides: [:])
        #expect(try ppo.double("min_lr_ratio") == 1 && ppo.double("lr") == 1.41e-5)
    }
}
