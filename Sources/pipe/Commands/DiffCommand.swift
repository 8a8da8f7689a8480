import ArgumentParser
import Commands

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two runs: the params, stage keys and outputs, and metrics that differ (metrics with B − A).")

    @Argument(help: "The first run: id, unique prefix, name, or `latest`.")
    var first: String

    @Argument(help: "The second run.")
    var second: String

    @Flag(help: "Show every entry, equal ones included (changed ones marked *).")
    var all = false

    /// What the default does now; kept so existing scripts keep working.
    @Flag(help: .hidden)
    var onlyChanged = false

    @OptionGroup var storeOption: StoreOption

    func run() throws {
        let status = HistoryCommands.diff(store: storeOption.store, first, second, all: all && !onlyChanged)
        try exitOnFailure(status)
    }
}
