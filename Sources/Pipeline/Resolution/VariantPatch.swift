extension ParsedPipeline {
    /// A sweep variant made from the already resolved `base` by re-typing only the params the
    /// variant's `combination` sets (and the seed), instead of resolving every stage again: what
    /// `resolve(overrides: base.overrides + combination)` returns, for a fraction of the cost (a
    /// 512-variant sweep resolved its pipeline 512 times).
    ///
    /// Only params and the seed depend on overrides (a stage's inputs, command, deps and resources
    /// come from the file and its declarations, which `base` already checked). Returns nil when the
    /// combination does anything this shortcut does not reproduce exactly — an unknown stage or
    /// param, a value of the wrong type, a bad seed — so the caller resolves in full and reports
    /// the error as a full resolution does.
    func patch(_ base: ResolvedPipeline, with combination: [ParamOverride],
               declarations: inout DeclarationCache) -> ResolvedPipeline? {
        var patched = base
        var stageIndex: [String: Int] = [:]
        var seed = base.seed
        for override in combination {
            if override.stage.isEmpty && override.param == "seed" {
                guard case .success(.int(let value)) = ParamTyping.typed(override.value, as: .int), value >= 0 else { return nil }
                seed = UInt64(value)
                continue
            }
            guard let spec = spec.stages.first(where: { $0.name == override.stage }) else { return nil }
            let index: Int
            if let known = stageIndex[override.stage] {
                index = known
            } else {
                guard let found = patched.stages.firstIndex(where: { $0.name == override.stage }) else { return nil }
                stageIndex[override.stage] = found
                index = found
            }
            var declaration: StageDeclaration?
            if case .uses(let kind, _) = spec.body {
                guard case .success(let declared)? = declarations.declaration(kind) else { return nil }
                declaration = declared
            }
            var stage = patched.stages[index]
            let current = stage.params.firstIndex { $0.name == override.param }
            var sink = DiagnosticSink()
            guard let value = typedOverride(override, spec, declaration, current: current.map { stage.params[$0].value }, &sink),
                  sink.isEmpty else { return nil }
            if let current {
                stage.params[current].value = value
            } else {
                // Declared params always have a value (their default) and run stages may only set
                // their own: a param missing here is one a full resolution would refuse.
                return nil
            }
            stage.nonKeyParams = Self.nonKeyParams(declaration, stage.params)
            patched.stages[index] = stage
        }
        if seed != base.seed {
            for i in patched.stages.indices { patched.stages[i].seed = seed }
            patched.seed = seed
        }
        patched.overrides = base.overrides + combination
        return patched
    }
}
