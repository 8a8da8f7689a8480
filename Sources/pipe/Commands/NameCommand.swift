import ArgumentParser
import Commands

struct NameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "name",
        abstract: "Name a run (e.g. `baseline`): `pipe gc` keeps what it needs, and the name works wherever a run id does.")

    @Argument(help: "Run id, unique prefix, or `latest`.")
    var runID: String

    @Argument(help: "The name (no spaces); given to another run, it moves.")
    var name: String

    @OptionGroup var storeOption: StoreOption

    func run() throws {
        let status = HistoryCommands.name(store: storeOption.store, run: runID, name: name)
        try exitOnFailure(status)
    }
}
