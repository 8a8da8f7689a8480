import Foundation
import Store

/// A sweep that compares training algorithms, per arm: an arm is the stage whose model an `evaluate`
/// stage takes as its `policy` (eval-grpo evaluates grpo); variants that differ only by seed are seeds
/// of one configuration, variants differing in other params are separate configurations. Each of an
/// arm's evaluation figures becomes a `SeedSpread` over its seeds, beside the SFT baseline's.
///
/// Computed once from plain observations (`aggregate`), rendered twice: as an HTML table in the
/// report and as a Markdown table for the terminal (`table` gives both the same cells).
struct ArmComparison {
    /// One arm's evaluation in one variant of the sweep (one seed of one configuration).
    struct Observation {
        /// The stage that trained the evaluated policy.
        var arm: String
        /// The `evaluate` stage that measured it.
        var evaluation: String
        /// The variant's overrides other than seeds, `ppo.init_kl_coef=0.1`; "" when there are none.
        var configuration: String
        /// The variant's seed (its label when no seed was swept).
        var seed: String
        /// Figure name → the trained policy's value, e.g. `judge_positive_rate`, `rm_win_rate`.
        var trained: [String: Double]
        /// Figure name → the baseline's value, from the same evaluation file.
        var baseline: [String: Double]
        /// Where the baseline came from (`sft.model`).
        var baselineSource: String
        /// Wall seconds of building `costStages` (the arm and the upstream stages only it uses).
        var wallSeconds: Double?
        /// CPU seconds of the same stages (user + system, as the executor measured them).
        var cpuSeconds: Double? = nil
        var costStages: [String]
        /// The training stage's `gold/…` series (proxy and gold scorer on held-out prompts).
        var gold: [String: [MetricPoint]] = [:]
        /// The evaluation's completions of its held-out prompts.
        var samples: [SampleRow] = []
    }

    struct SampleRow: Equatable {
        var prompt: String
        var baseline: String
        var trained: String
    }

    /// One row of the table: an arm (or the baseline) in one configuration, over its seeds.
    struct Row {
        var label: String
        var arm: String
        var configuration: String
        var isBaseline: Bool
        /// The seeds it has an observation for, in variant order.
        var seeds: [String]
        var figures: [String: SeedSpread]
        var wall: SeedSpread?
        var cpu: SeedSpread? = nil
        var costStages: [String]
        /// The observations behind it, in seed order.
        var observations: [Observation]
    }

    var rows: [Row]
    /// In order of first appearance.
    var configurations: [String]

    /// The table's figure columns (name, header), in this order where present: what says whether an
    /// arm helped (gold judge, proxy reward), what it cost (KL, perplexity, diversity), and the
    /// head-to-head against the baseline.
    static let headlineFigures: [(name: String, header: String)] = FigureNames.named(
        ["judge_positive_rate", "judge_positive_rate_label_1", "judge_positive_rate_label_0", "rm_reward_mean",
         "kl_to_reference_nats", "heldout_perplexity", "distinct_2", "rm_win_rate"]
    ).map { (name: $0.key, header: $0.header) }

    /// Counts and settings in an evaluation file, not measurements.
    static let countFigures: Set<String> = ["samples", "classic_prompts", "heldout_prompts", "samples_per_prompt", "pairs"]

    /// Groups the observations into rows: per configuration, the baseline first, then each arm in
    /// the order the observations name them. Observations come in variant order, then stage order.
    static func aggregate(_ observations: [Observation]) -> ArmComparison {
        var configurations: [String] = []
        for o in observations where !configurations.contains(o.configuration) { configurations.append(o.configuration) }
        // An arm evaluated by two stages (say two decodings) gets a row per evaluation.
        var evaluationsPerArm: [String: Set<String>] = [:]
        for o in observations { evaluationsPerArm[o.arm, default: []].insert(o.evaluation) }

        var rows: [Row] = []
        for configuration in configurations {
            let mine = observations.filter { $0.configuration == configuration }
            var seeds: [String] = []
            for o in mine where !seeds.contains(o.seed) { seeds.append(o.seed) }
            // The baseline as each seed's first evaluation measured it.
            let baselines = seeds.compactMap { seed in mine.first { $0.seed == seed && !$0.baseline.isEmpty } }
            if !baselines.isEmpty {
                rows.append(Row(label: "SFT baseline (\(baselines[0].baselineSource))", arm: "", configuration: configuration,
                                isBaseline: true, seeds: baselines.map(\.seed), figures: spreads(baselines.map(\.baseline)),
                                wall: nil, costStages: [], observations: baselines))
            }
            var groups: [(arm: String, evaluation: String)] = []
            for o in mine where !groups.contains(where: { $0.arm == o.arm && $0.evaluation == o.evaluation }) {
                groups.append((o.arm, o.evaluation))
            }
            for group in groups {
                // One observation per seed (a variant evaluates each arm once).
                var members: [Observation] = []
                for seed in seeds {
                    if let o = mine.first(where: { $0.seed == seed && $0.arm == group.arm && $0.evaluation == group.evaluation }) {
                        members.append(o)
                    }
                }
                let walls = members.compactMap(\.wallSeconds), cpus = members.compactMap(\.cpuSeconds)
                let label = (evaluationsPerArm[group.arm]?.count ?? 0) > 1 ? "\(group.arm) (\(group.evaluation))" : group.arm
                rows.append(Row(label: label, arm: group.arm, configuration: configuration, isBaseline: false, seeds: members.map(\.seed),
                                figures: spreads(members.map(\.trained)),
                                wall: walls.count == members.count ? SeedSpread(walls) : nil,
                                cpu: cpus.count == members.count && !cpus.isEmpty ? SeedSpread(cpus) : nil,
                                costStages: members.first?.costStages ?? [], observations: members))
            }
        }
        return ArmComparison(rows: rows, configurations: configurations)
    }

    /// Figure name → spread over the dictionaries that have it, in their order.
    static func spreads(_ values: [[String: Double]]) -> [String: SeedSpread] {
        var names: Set<String> = []
        for v in values { names.formUnion(v.keys) }
        var result: [String: SeedSpread] = [:]
        for name in names { result[name] = SeedSpread(values.compactMap { $0[name] }) }
        return result
    }

    var arms: [Row] { rows.filter { !$0.isBaseline } }

    /// Every figure any row has, headline figures first, then the rest by name.
    var allFigures: [String] {
        var names: Set<String> = []
        for row in rows { names.formUnion(row.figures.keys) }
        let headline = Self.headlineFigures.map(\.name).filter(names.contains)
        return headline + names.subtracting(headline).sorted { $0.utf8Precedes($1) }
    }

    /// The headline figures present; when none is (an evaluation file of another shape), every figure.
    var tableFigures: [(name: String, header: String)] {
        let names = Set(rows.flatMap(\.figures.keys))
        let headline = Self.headlineFigures.filter { names.contains($0.name) }
        return headline.isEmpty ? allFigures.map { ($0, $0) } : headline
    }

    /// The per-arm table's cells, for both renderers: the baseline and each arm per configuration,
    /// each figure as mean ± sample standard deviation (min–max) over n seeds, and the arm's wall time.
    var table: (header: [String], rows: [[String]]) {
        let figures = tableFigures
        let showConfiguration = configurations.count > 1 || configurations.first.map { !$0.isEmpty } == true
        let header = ["arm"] + (showConfiguration ? ["configuration"] : []) + ["seeds"] + figures.map(\.header)
            + ["wall time (training)", "CPU time (training)", "training stages"]
        let cells = rows.map { row in
            [row.label] + (showConfiguration ? [row.configuration.isEmpty ? "-" : row.configuration] : []) + [String(row.seeds.count)]
                + figures.map { row.figures[$0.name]?.text ?? "-" }
                + [row.isBaseline ? "-" : row.wall?.secondsText ?? "-", row.isBaseline ? "-" : row.cpu?.secondsText ?? "-",
                   row.isBaseline ? "-" : row.costStages.joined(separator: " + ")]
        }
        return (header, cells)
    }

    /// What the table's cells mean, under both renderings.
    var legend: String {
        let counts = Set(rows.map(\.seeds.count)).sorted()
        let n = counts.count == 1 ? "\(counts[0]) seed\(counts[0] == 1 ? "" : "s")" : "\(counts.map(String.init).joined(separator: "/")) seeds"
        return "Each figure: mean ± sample standard deviation (n − 1) and (min–max) over \(n); one seed shows its value alone. "
            + "Wall time: start to finish of building the arm's training stage and the upstream stages only it uses, "
            + "mean ± sample standard deviation over seeds (a stage taken from the cache counts the run that built it). "
            + "CPU time: user + system CPU of the same stages' processes, as the local executor measured them "
            + "(\"-\" where a stage has none: a Slurm job, or a record written before pipe measured it)."
    }

    /// The table as Markdown, columns padded to line up in a terminal and pasteable into a README.
    var markdown: String {
        let (header, cells) = table
        // Text columns (arm, configuration, stages) left, figures right.
        let textColumns: Set<String> = ["arm", "configuration", "training stages"]
        return MarkdownTable.render(header: header, rows: cells, rightAligned: { !textColumns.contains(header[$0]) }) + "\n" + legend + "\n"
    }
}

/// A pipe table whose columns line up in a fixed-width font.
enum MarkdownTable {
    /// - Parameter rightAligned: whether a column is right-aligned (`---:`), as numbers are.
    static func render(header: [String], rows: [[String]], rightAligned: (Int) -> Bool) -> String {
        func escape(_ cell: String) -> String { cell.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
        let all = [header] + rows
        let widths = header.indices.map { column in
            max(3, all.map { $0.indices.contains(column) ? escape($0[column]).count : 0 }.max() ?? 0)
        }
        func line(_ row: [String]) -> String {
            "| " + header.indices.map { column in
                let cell = row.indices.contains(column) ? escape(row[column]) : ""
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned(column) ? pad + cell : cell + pad
            }.joined(separator: " | ") + " |"
        }
        let rule = "|" + header.indices.map { column in
            rightAligned(column) ? " " + String(repeating: "-", count: widths[column] - 1) + ": " : " " + String(repeating: "-", count: widths[column]) + " "
        }.joined(separator: "|") + "|"
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}
