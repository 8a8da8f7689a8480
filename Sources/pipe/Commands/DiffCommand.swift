import ArgumentParser
import Commands

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two runs: params, stage keys and outputs, metrics side by side (changed ones marked *).")

    @Argument(help: "The first run: id, unique prefix, name, or `latest`.")
    var first: String

    @Argument(help: "The second run.")
    var second: String

    @Flag(help: "Show only what differs.")
    var onlyChanged = false

    @OptionGroup var storeOption: StoreOption

    func run() throws {
        let status = HistoryCommands.diff(store: storeOption.store, first, second, onlyChanged: onlyChanged)
        try exitOnFailure(status)
    }
}
