import Hashing

extension KeyMaterial {
    /// Why this key differs from `previous`, in words for `pipe status`, e.g.
    /// `param lr changed 1e-05 → 3e-05`, `input model changed (sft.model)`, `command changed`,
    /// `dep train.py changed`, `implementation version 1 → 2`, `environment changed: blas`.
    /// Empty when the keys are equal.
    ///
    /// `commandTemplate` is the stage's current `run:` template. Params are interpolated into the
    /// key's command, so a param change alone changes it too; when the template rendered with the
    /// previous params gives the previous command, the template did not change and "command
    /// changed" would only repeat the param lines, so it is left out.
    public func changes(from previous: KeyMaterial, commandTemplate: String? = nil) -> [String] {
        var reasons: [String] = []
        if scheme != previous.scheme { reasons.append("key scheme \(previous.scheme) → \(scheme)") }
        if kind != previous.kind { reasons.append("kind changed \(previous.kind) → \(kind)") }
        if implementationVersion != previous.implementationVersion {
            reasons.append("implementation version \(previous.implementationVersion) → \(implementationVersion)")
        }
        for (name, old, new) in Self.diff(previous.params.map { ($0.name, $0.value) }, params.map { ($0.name, $0.value) }) {
            switch (old, new) {
            case let (old?, new?): reasons.append("param \(name) changed \(old) → \(new)")
            case let (nil, new?): reasons.append("param \(name) added (\(new))")
            case let (old?, nil): reasons.append("param \(name) removed (was \(old))")
            case (nil, nil): break
            }
        }
        let oldInputs = previous.inputs.map { ($0.name, $0) }, newInputs = inputs.map { ($0.name, $0) }
        for (name, old, new) in Self.diff(oldInputs, newInputs, same: { $0.digest == $1.digest }) {
            switch (old, new) {
            case let (old?, new?) where old.source != new.source:
                reasons.append("input \(name) changed (\(old.source) → \(new.source))")
            case let (_?, new?): reasons.append("input \(name) changed (\(new.source))")
            case let (nil, new?): reasons.append("input \(name) added (\(new.source))")
            case let (old?, nil): reasons.append("input \(name) removed (was \(old.source))")
            case (nil, nil): break
            }
        }
        if command != previous.command, !Self.onlyParamsChanged(previous, commandTemplate: commandTemplate) {
            reasons.append("command changed")
        }
        for (path, old, new) in Self.diff(previous.deps.map { ($0.path, $0.digest) }, deps.map { ($0.path, $0.digest) }) {
            switch (old, new) {
            case (_?, _?): reasons.append("dep \(path) changed")
            case (nil, _?): reasons.append("dep \(path) added")
            case (_?, nil): reasons.append("dep \(path) removed")
            case (nil, nil): break
            }
        }
        let changedEnvironment = Self.diff(previous.environment.map { ($0.name, $0.value) },
                                           environment.map { ($0.name, $0.value) }).map(\.name)
        if !changedEnvironment.isEmpty { reasons.append("environment changed: " + changedEnvironment.joined(separator: ", ")) }
        if seed != previous.seed { reasons.append("seed changed \(previous.seed) → \(seed)") }
        return reasons
    }

    /// Whether `template`, rendered with `previous`'s params, is `previous`'s command: then the
    /// command differs only by interpolated param values.
    private static func onlyParamsChanged(_ previous: KeyMaterial, commandTemplate template: String?) -> Bool {
        guard let template, let previousCommand = previous.command else { return false }
        let rendered = CommandTemplate(template).render { namespace, name in
            guard namespace == .params else { return nil }
            return previous.params.first { $0.name == name }.map { ShellQuote.word(for: $0.value) }
        }
        return rendered == previousCommand
    }

    /// Entries whose value differs, was added or removed, by name (both sides sorted by name).
    private static func diff<V: Equatable>(_ old: [(String, V)], _ new: [(String, V)]) -> [(name: String, old: V?, new: V?)] {
        diff(old, new, same: ==)
    }

    private static func diff<V>(_ old: [(String, V)], _ new: [(String, V)],
                                same: (V, V) -> Bool) -> [(name: String, old: V?, new: V?)] {
        var names = old.map(\.0)
        for (name, _) in new where !names.contains(name) { names.append(name) }
        names.sort { $0.utf8Precedes($1) }
        var out: [(name: String, old: V?, new: V?)] = []
        for name in names {
            let a = old.first { $0.0 == name }?.1, b = new.first { $0.0 == name }?.1
            switch (a, b) {
            case let (a?, b?) where same(a, b): continue
            default: out.append((name, a, b))
            }
        }
        return out
    }
}
