import ArgumentParser
import Commands

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML report: training curves, evaluation table, samples; for a sweep, a comparison.")

    @Argument(help: "Run id, unique prefix, name, or `latest` (default: latest).")
    var runID: String?

    @Option(help: ArgumentHelp("Report on a sweep (its id, a prefix, or `latest`) instead of a run.", valueName: "sweep"))
    var sweep: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write (default: report-<id>.html).", valueName: "file"))
    var output: String?

    @Flag(help: "Print Markdown instead of writing HTML: the per-arm table (each evaluate stage's policy, its figures as mean ± spread over seeds) and, for a run, each evaluation file's decodings table.")
    var text = false

    @OptionGroup var storeOption: StoreOption

    func validate() throws {
        if runID != nil && sweep != nil { throw ValidationError("give a run or --sweep, not both") }
        if text && output != nil { throw ValidationError("--text prints to the terminal: it writes no file for --output") }
    }

    func run() throws {
        let status = ReportCommands.report(store: storeOption.store, run: runID, sweep: sweep, output: output, text: text)
        try exitOnFailure(status)
    }
}
