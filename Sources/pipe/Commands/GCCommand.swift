import ArgumentParser
import Commands

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove stage results and objects that no kept run, named run or lock file needs.")

    @Option(help: "Keep what the last N runs need (a sweep is kept whole).")
    var keepLast = 10

    @Flag(help: "Show what would be removed; remove nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Also keep what this lock file references (repeatable; lock files next to recorded pipelines are always kept).", valueName: "file"))
    var lock: [String] = []

    @Option(help: ArgumentHelp("Keep anything younger than this many seconds (it may belong to a run in progress).", valueName: "seconds"))
    var grace = 3600

    @Flag(help: "Collect even though the run registry lost history (results of the lost runs may be removed).")
    var acceptLostHistory = false

    @OptionGroup var storeOption: StoreOption

    func validate() throws {
        if keepLast < 0 { throw ValidationError("--keep-last must be 0 or more") }
        if grace < 0 { throw ValidationError("--grace must be 0 or more") }
    }

    func run() throws {
        let status = UpkeepCommands.gc(store: storeOption.store, keepLast: keepLast, dryRun: dryRun, graceSeconds: grace, locks: lock,
                                        acceptLostHistory: acceptLostHistory)
        try exitOnFailure(status)
    }
}
