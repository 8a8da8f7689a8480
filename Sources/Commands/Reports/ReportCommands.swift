import Engine
import Foundation
import Store

/// `pipe report RUN` and `pipe report --sweep SWEEP`: one self-contained HTML file.
public enum ReportCommands {
    static let stdout = TerminalOutput(fd: 1)
    static let stderr = TerminalOutput(fd: 2)

    /// - Parameter output: the HTML file (default `report-<id>.html` in the working directory).
    public static func report(store storeFlag: String?, run reference: String?, sweep sweepReference: String?, output: String?) -> Int32 {
        guard let (store, registry) = HistoryCommands.open(storeFlag) else { return 2 }
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
}
