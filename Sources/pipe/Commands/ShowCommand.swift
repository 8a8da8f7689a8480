import ArgumentParser
import Commands

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one run: params, stage keys (cached or ran), outputs, metrics, timings.")

    @Argument(help: "Run id, a unique prefix of one, or `latest`.")
    var runID: String = "latest"

    @Option(help: ArgumentHelp("Artifact store directory (default: $PIPE_STORE, else ./artifacts).", valueName: "dir"))
    var store: String?

    func run() throws {
        let status = InfoCommands.show(store: store, run: runID)
        try exitOnFailure(status)
    }
}
