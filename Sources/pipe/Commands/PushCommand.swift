import ArgumentParser
import Commands

struct PushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Upload stage results (records and their artifacts) to a remote cache.",
        discussion: "Pushes the results of RUN (default: the latest run), of every result in the store (--all), or of the stages a lock file names (--lock). What the remote already has is skipped. Exit status: 0 ok, 1 a transfer failed, 2 usage.")

    @Argument(help: ArgumentHelp("Run id, a unique prefix of one, or `latest`.", valueName: "run"))
    var runID: String?

    @Flag(help: "Push every intact result in the store.")
    var all = false

    @Option(help: ArgumentHelp("Push the stage results this lock file names.", valueName: "file"))
    var lock: String?

    @OptionGroup var remoteOptions: RemoteOptions
    @OptionGroup var storeOption: StoreOption

    func validate() throws {
        if [runID != nil, all, lock != nil].filter({ $0 }).count > 1 { throw ValidationError("give one of RUN, --all or --lock FILE") }
    }

    func run() throws {
        let selection: RemoteCommands.Selection = all ? .all : lock.map { .lock($0) } ?? .run(runID ?? "latest")
        let status = RemoteCommands.push(store: storeOption.store, remote: remoteOptions.remote, settings: try remoteOptions.settings(),
                                         selection: selection)
        try exitOnFailure(status)
    }
}
