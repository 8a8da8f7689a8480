/// Parses the `sweep:` block:
///
///     sweep:
///       ppo.lr: [1.41e-5, 3e-5]          # grid axes: stage.param → values
///       ppo.init_kl_coef: [0.1, 0.2]
///       seed: [1, 2, 3]                   # the pipeline's seed: every variant at each seed
///       variants:                         # explicit variants, added after the grid
///         - { ppo.lr: 1e-4, ppo.steps: 10 }
///       metric: eval/reward               # ranks the sweep table
///       goal: max                         # or min
enum SweepParser {
    static let reservedKeys = ["variants", "metric", "goal"]

    static func parse(_ node: YAMLNode, reader: YAMLReader, sink: inout DiagnosticSink) -> SweepSpec {
        var spec = SweepSpec(axes: [], variants: [], metric: nil, maximize: true, location: reader.location(node))
        for (key, keyNode, value) in reader.entries(node, path: "sweep", what: "sweep", allowed: nil, sink: &sink) {
            let path = "sweep.\(key)"
            switch key {
            case "metric": spec.metric = reader.string(value, path: path, what: "sweep: metric", sink: &sink)
            case "goal":
                switch reader.string(value, path: path, what: "sweep: goal", sink: &sink) {
                case "max"?: spec.maximize = true
                case "min"?: spec.maximize = false
                case let other?:
                    sink.error(reader.location(value), path, "sweep: goal must be 'max' or 'min', not '\(other)'",
                               suggestion: Suggestion.nearest(to: other, in: ["max", "min"]))
                case nil: break
                }
            case "variants":
                guard case .sequence(let items) = value else {
                    sink.error(reader.location(value), path, "sweep: variants must be a list of {stage.param: value} mappings")
                    continue
                }
                for (index, item) in items.enumerated() {
                    var overrides: [ParamOverride] = []
                    for (target, targetNode, targetValue) in reader.entries(item, path: "\(path)[\(index)]",
                                                                          what: "sweep: variant \(index + 1)", allowed: nil, sink: &sink) {
                        guard let (stage, param) = split(target, at: reader.location(targetNode), path: "\(path)[\(index)]", &sink) else { continue }
                        overrides.append(ParamOverride(stage: stage, param: param, value: reader.value(targetValue),
                                                       origin: "sweep", location: reader.location(targetNode)))
                    }
                    if !overrides.isEmpty { spec.variants.append(overrides) }
                }
            case "seed":
                guard case .sequence(let items) = value, !items.isEmpty else {
                    sink.error(reader.location(value), path, "sweep: 'seed' needs a non-empty list of seeds, e.g. seed: [1, 2, 3]")
                    continue
                }
                spec.axes.append(SweepSpec.Axis(stage: "", param: "seed", values: items.map { reader.value($0) },
                                                location: reader.location(keyNode), origin: nil))
            default:
                guard key.contains(".") else {
                    sink.error(reader.location(keyNode), path,
                               "sweep: unknown key '\(key)' (use stage.param: [values], seed: [values], variants:, metric: or goal:)",
                               suggestion: Suggestion.nearest(to: key, in: reservedKeys))
                    continue
                }
                guard let (stage, param) = split(key, at: reader.location(keyNode), path: path, &sink) else { continue }
                guard case .sequence(let items) = value, !items.isEmpty else {
                    sink.error(reader.location(value), path, "sweep: '\(key)' needs a non-empty list of values, e.g. \(key): [1, 2]")
                    continue
                }
                spec.axes.append(SweepSpec.Axis(stage: stage, param: param, values: items.map { reader.value($0) },
                                                location: reader.location(keyNode), origin: nil))
            }
        }
        return spec
    }

    private static func split(_ target: String, at location: SourceLocation, path: String,
                              _ sink: inout DiagnosticSink) -> (String, String)? {
        let parts = target.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            sink.error(location, path, "sweep: '\(target)' is not stage.param")
            return nil
        }
        return (String(parts[0]), String(parts[1]))
    }
}
