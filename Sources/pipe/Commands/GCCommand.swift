import ArgumentParser
import Commands
import Engine

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

    @Option(help: ArgumentHelp("Collect on this remote cache instead of the local store: uploads left in its tmp/ by killed pushes (older than --grace). A name from remotes: in pipe.config.yaml, an http(s):// URL, or a directory.", valueName: "name|url|path"))
    var remote: String?

    @Flag(help: "With --remote: also remove manifests no stage record names and content no manifest lists (older than --grace). Only while no push to that remote is running.")
    var orphans = false

    @Option(help: ArgumentHelp("Config file naming the remotes (default: $PIPE_CONFIG, else ./pipe.config.yaml if present).", valueName: "file"))
    var config: String?

    @OptionGroup var storeOption: StoreOption

    func validate() throws {
        if keepLast < 0 { throw ValidationError("--keep-last must be 0 or more") }
        if grace < 0 { throw ValidationError("--grace must be 0 or more") }
        if orphans && remote == nil { throw ValidationError("--orphans applies to a remote: add --remote NAME") }
        if remote != nil && (!lock.isEmpty || keepLast != 10 || acceptLostHistory) {
            throw ValidationError("--keep-last, --lock and --accept-lost-history apply to the local store, not to --remote")
        }
    }

    func run() throws {
        if let remote {
            let settings: ExecutorSettings
            do { settings = try ExecutorSettings.load(explicit: config) } catch { throw ValidationError("\(error)") }
            try exitOnFailure(RemoteCommands.gc(remote: remote, settings: settings, graceSeconds: grace, orphans: orphans, dryRun: dryRun))
            return
        }
        let status = UpkeepCommands.gc(store: storeOption.store, keepLast: keepLast, dryRun: dryRun, graceSeconds: grace, locks: lock,
                                        acceptLostHistory: acceptLostHistory)
        try exitOnFailure(status)
    }
}
