import ArgumentParser
import Commands

struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download stage results from a remote cache into the store (verified against their digests).",
        discussion: "Pulls the results of RUN (the full run id `pipe push` printed) or of the stages a lock file names (--lock). What the store already has is skipped; a corrupt or truncated download is refused. Exit status: 0 ok, 1 a transfer failed or a result is missing, 2 usage.")

    @Argument(help: ArgumentHelp("The full id of a pushed run.", valueName: "run"))
    var runID: String?

    @Option(help: ArgumentHelp("Pull the stage results this lock file names.", valueName: "file"))
    var lock: String?

    @OptionGroup var remoteOptions: RemoteOptions
    @OptionGroup var storeOption: StoreOption

    func validate() throws {
        if (runID == nil) == (lock == nil) { throw ValidationError("give one of RUN or --lock FILE") }
    }

    func run() throws {
        let selection: RemoteCommands.Selection = lock.map { .lock($0) } ?? .run(runID ?? "")
        let status = RemoteCommands.pull(store: storeOption.store, remote: remoteOptions.remote, settings: try remoteOptions.settings(),
                                         selection: selection)
        try exitOnFailure(status)
    }
}
