import ArgumentParser
import Commands

struct SweepsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweeps",
        abstract: "List recorded sweeps, or print one sweep's table (variants, swept params, key metrics, best first).")

    @Argument(help: "A sweep id, unique prefix, or `latest`; omit to list sweeps.")
    var sweep: String?

    @Option(name: .shortAndLong, help: "How many sweeps to list.")
    var limit = 20

    @OptionGroup var storeOption: StoreOption

    func run() throws {
        let status = SweepHistory.list(store: storeOption.store, sweep: sweep, limit: limit)
        try exitOnFailure(status)
    }
}
