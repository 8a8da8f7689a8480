/// One frozen variant of a sweep: its overrides and the pipeline resolved with them.
public struct SweepVariant: Sendable {
    /// Readable and deterministic, e.g. `ppo.lr=3e-05,ppo.init_kl_coef=0.1` (typed values in
    /// canonical display form, axes in the order written). `base` when nothing is swept.
    public var name: String
    /// The variant's own overrides (on top of the `--set` ones), in axis order.
    public var overrides: [ParamOverride]
    public var pipeline: ResolvedPipeline
}

extension PipelineLoader {
    /// Resolves every variant of the sweep before anything runs (Hydra's lazy-composition pitfall):
    /// the file's `sweep:` grid, with `--sweep stage.param=v1,v2` axes replacing or adding axes, then
    /// the file's explicit `variants:`. `overrides` (`--set`) apply to every variant first.
    /// Without any sweep this returns one variant named `base`. Variants with identical resolved
    /// params are kept once (the first).
    public func loadSweep(file: String, overrides: [ParamOverride] = [], sweeps: [String] = [],
                          includeFileSweep: Bool = true) throws(PipelineError) -> [SweepVariant] {
        try loadSweep(parse(file: file), overrides: overrides, sweeps: sweeps, includeFileSweep: includeFileSweep)
    }

    /// The same for a file already parsed (`pipe run` parses once, then looks at its `sweep:` block
    /// and expands it).
    public func loadSweep(_ parsed: ParsedPipeline, overrides: [ParamOverride] = [], sweeps: [String] = [],
                          includeFileSweep: Bool = true) throws(PipelineError) -> [SweepVariant] {
        var declarations = DeclarationCache(workspace: workspace)
        // Resolve the base once so plain errors are reported once, not once per variant.
        let base = try parsed.resolve(overrides: overrides, declarations: &declarations)

        var axes = includeFileSweep ? (parsed.spec.sweep?.axes ?? []) : []
        var sink = DiagnosticSink()
        for text in sweeps {
            do {
                let axis = try Self.parseSweepAxis(text)
                if let existing = axes.firstIndex(where: { $0.stage == axis.stage && $0.param == axis.param }) {
                    axes[existing] = axis
                } else {
                    axes.append(axis)
                }
            } catch { sink.append(error) }
        }
        try sink.check()
        try Self.checkVariantCount(axes: axes, explicit: includeFileSweep ? (parsed.spec.sweep?.variants.count ?? 0) : 0)

        var combinations: [[ParamOverride]] = axes.isEmpty ? [] : [[]]
        for axis in axes {
            var next: [[ParamOverride]] = []
            for prefix in combinations {
                for value in axis.values {
                    next.append(prefix + [ParamOverride(stage: axis.stage, param: axis.param, value: value,
                                                        origin: axis.origin ?? "sweep",
                                                        location: axis.origin == nil ? axis.location : nil)])
                }
            }
            combinations = next
        }
        if includeFileSweep { combinations += parsed.spec.sweep?.variants ?? [] }
        if combinations.isEmpty { combinations = [[]] }

        var variants: [SweepVariant] = []
        // Variants differ from each other only in params and seed (everything else comes from the
        // same file and declarations), so those identify a variant's resolved stages.
        var seen = Set<VariantParams>()
        for combination in combinations {
            let pipeline: ResolvedPipeline
            do {
                if combination.isEmpty {
                    pipeline = base
                } else if let patched = parsed.patch(base, with: combination, declarations: &declarations) {
                    pipeline = patched
                } else {
                    pipeline = try parsed.resolve(overrides: overrides + combination, declarations: &declarations)
                }
            } catch {
                sink.append(error)
                continue
            }
            guard seen.insert(VariantParams(pipeline)).inserted else { continue }
            variants.append(SweepVariant(name: Self.variantName(combination, pipeline), overrides: combination, pipeline: pipeline))
        }
        try sink.check()
        return variants
    }

    /// `stage.param=v1,v2,…` (commas inside [] or quotes do not split).
    /// Most variants one sweep may expand to. Every variant is resolved before anything runs, so a
    /// grid of ten axes of ten values (10^10 variants) would otherwise fill memory and never start.
    static let maxVariants = 10_000

    /// Refuses a grid (axes multiplied, plus `variants:`) above `maxVariants`, at the axis that
    /// crosses the limit.
    static func checkVariantCount(axes: [SweepSpec.Axis], explicit: Int) throws(PipelineError) {
        var product = 1
        for (index, axis) in axes.enumerated() {
            let (next, overflow) = product.multipliedReportingOverflow(by: max(axis.values.count, 1))
            product = overflow ? Int.max : next
            guard product > maxVariants - explicit else { continue }
            let sizes = axes.map { "\($0.values.count)" }.joined(separator: " × ")
            let total = axes.dropFirst(index + 1).reduce(product) { total, axis in
                let (next, overflow) = total.multipliedReportingOverflow(by: max(axis.values.count, 1))
                return overflow ? Int.max : next
            }
            let count = total == Int.max ? "more than \(Int.max)" : "\(total)"
            let located = axis.origin == nil
            throw PipelineError(location: located ? axis.location : nil, fieldPath: axis.origin ?? "sweep.\(axis.stage).\(axis.param)",
                                message: "\(axis.origin.map { "\($0): " } ?? "")sweep: the grid (\(sizes) values) has \(count) variants, more than \(maxVariants); sweep fewer values or split the study into several sweeps")
        }
    }

    static func parseSweepAxis(_ text: String) throws(PipelineError) -> SweepSpec.Axis {
        let origin = "--sweep \(text)"
        guard let equals = text.firstIndex(of: "=") else {
            throw PipelineError(location: nil, fieldPath: origin, message: "\(origin): expected stage.param=v1,v2 (e.g. --sweep ppo.lr=1e-5,3e-5)")
        }
        let (stage, param) = try ParamOverride.splitTarget(String(text[..<equals]), origin: origin, example: "--sweep ppo.lr=1e-5,3e-5")
        var values: [YAMLValue] = []
        for item in splitTopLevel(String(text[text.index(after: equals)...])) {
            values.append(try ParamOverride.parseValue(item, origin: origin))
        }
        return SweepSpec.Axis(stage: stage, param: param, values: values, location: SourceLocation(file: "", line: 0, column: 0),
                              origin: origin)
    }

    private static func splitTopLevel(_ text: String) -> [String] {
        var items: [String] = [], current = "", depth = 0
        var quote: Character?
        for c in text {
            if let q = quote { if c == q { quote = nil } }
            else if c == "'" || c == "\"" { quote = c }
            else if c == "[" || c == "{" { depth += 1 }
            else if c == "]" || c == "}" { depth -= 1 }
            else if c == ",", depth == 0 { items.append(current); current = ""; continue }
            current.append(c)
        }
        items.append(current)
        return items
    }

    static func variantName(_ overrides: [ParamOverride], _ pipeline: ResolvedPipeline) -> String {
        guard !overrides.isEmpty else { return "base" }
        var parts: [String] = []
        for o in overrides {
            let (target, value) = resolvedText(of: o, in: pipeline)
            let part = target + "=" + value
            if let i = parts.firstIndex(where: { $0.hasPrefix(target + "=") }) { parts[i] = part } else { parts.append(part) }
        }
        return parts.joined(separator: ",")
    }
}

/// What tells two variants of one sweep apart: each stage's params and the seed.
private struct VariantParams: Hashable {
    var seed: UInt64
    var params: [[ResolvedParam]]

    init(_ pipeline: ResolvedPipeline) {
        seed = pipeline.seed
        params = pipeline.stages.map(\.params)
    }
}

extension ParamOverride {
    /// `ppo.lr`, or `seed` for the pipeline's seed.
    public var target: String { stage.isEmpty ? param : "\(stage).\(param)" }
}

/// An override's target and its value as `pipeline` resolved it (typed, canonical display form).
public func resolvedText(of o: ParamOverride, in pipeline: ResolvedPipeline) -> (target: String, value: String) {
    if o.stage.isEmpty { return (o.target, String(pipeline.seed)) }
    return (o.target, pipeline.stage(named: o.stage)?.param(o.param)?.description ?? o.value.description)
}
