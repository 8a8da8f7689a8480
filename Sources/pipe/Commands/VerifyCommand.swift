import ArgumentParser
import Commands

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-hash every object; report corrupted ones and the runs they affect, and quarantine them so the next run rebuilds them.",
        discussion: "Exit status: 0 intact, 1 corruption found, 2 usage error.")

    @Flag(help: "Report only; leave corrupted objects in place.")
    var reportOnly = false

    @Flag(help: "Rebuild a lost or damaged run registry (runs.sqlite) from the stage records in stages/; the damaged file is kept beside it.")
    var rebuildRegistry = false

    @OptionGroup var storeOption: StoreOption

    func run() throws {
        let status = UpkeepCommands.verify(store: storeOption.store, reportOnly: reportOnly, rebuildRegistry: rebuildRegistry)
        try exitOnFailure(status)
    }
}
