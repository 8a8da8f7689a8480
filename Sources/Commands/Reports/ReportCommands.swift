import Engine
import Foundation
import Store

/// `pipe report RUN` and `pipe report --sweep SWEEP`: one self-contained HTML file.
public enum ReportCommands {
    static let stdout = TerminalOutput(fd: 1)
    static let stderr = TerminalOutput(fd: 2)

    /// - Parameters:
    ///   - output: the HTML file (default `report-<id>.html` in the working directory).
    ///   - text: print the per-arm table and, for a run, the decodings tables (Markdown) instead of writing HTML.
    public static func report(store storeFlag: String?, run reference: String?, sweep sweepReference: String?, output: String?,
                              text: Bool = false) -> Int32 {
        guard let (store, registry) = HistoryCommands.open(storeFlag) else { return 2 }
        if text { return armTable(store: store, registry: registry, run: reference, sweep: sweepReference) }
        do {
            let html: String
            let id: String
            if let sweepReference {
                let sweep = try registry.sweep(id: registry.resolveSweepID(sweepReference))
                id = sweep.id
                html = try ReportBuilder.sweepPage(sweep, registry: registry, store: store)
            } else {
                let details = try registry.runDetails(id: registry.resolveRunReference(reference ?? "latest"))
                id = details.run.id
                html = ReportBuilder.runPage(details, registry: registry, store: store)
            }
            let path = output ?? "report-\(id).html"
            try Data(html.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            stdout.write("wrote \(path) (\(MetricFormat.bytes(Int64(html.utf8.count))), self-contained)\n")
            return 0
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
    }

    /// `pipe report --sweep S --text` (or a run): the per-arm table as Markdown on stdout, computed
    /// as the HTML report's table is; for a run, also each evaluation file's decodings table.
    static func armTable(store: ArtifactStore, registry: RunRegistry, run reference: String?, sweep sweepReference: String?) -> Int32 {
        do {
            let comparison: ArmComparison
            let what: String
            var decodings: [DecodingsFile] = []
            if let sweepReference {
                let sweep = try registry.sweep(id: registry.resolveSweepID(sweepReference))
                what = "sweep \(sweep.id)"
                let variants = try ReportBuilder.sweepVariants(sweep, registry: registry, store: store)
                comparison = ArmComparison.collect(variants.map(ArmComparison.Variant.init), store: store)
            } else {
                let details = try registry.runDetails(id: registry.resolveRunReference(reference ?? "latest"))
                what = "run \(details.run.id)"
                let metrics = RunMetrics.load(details, registry: registry, store: store)
                comparison = ArmComparison.collect([.init(label: details.run.id, overrides: [], details: details, metrics: metrics)], store: store)
                decodings = ReportArtifacts.collect(details, store: store).decodings.filter { $0.reading != .absent }
            }
            guard !comparison.arms.isEmpty || !decodings.isEmpty else {
                stderr.write("error: \(what) has no `\(ArmComparison.evaluationKind)` stage whose policy input a stage of the run trained "
                             + "(or its evaluation files are gone from the store)\(sweepReference == nil ? " and no evaluation file with several decodings" : ""): "
                             + "there is no table to print; `pipe report` without --text writes the HTML report\n")
                return 2
            }
            var sections: [String] = []
            if !comparison.arms.isEmpty { sections.append(comparison.markdown) }
            for file in decodings {
                switch file.reading {
                case .table(let table): sections.append("Decodings of \(file.source):\n\n" + table.markdown)
                case .malformed(let reason): sections.append("No decodings table: \(reason) in \(file.source).\n")
                case .absent: break
                }
            }
            stdout.write(sections.joined(separator: "\n"))
            return 0
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
    }
}
