import ArgumentParser
import Commands

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "List recent runs.")

    @Option(help: ArgumentHelp("Artifact store directory (default: $PIPE_STORE, else ./artifacts).", valueName: "dir"))
    var store: String?

    @Option(name: .shortAndLong, help: "How many runs to list.")
    var limit = 20

    func run() throws {
        let status = InfoCommands.runs(store: store, limit: limit)
        try exitOnFailure(status)
    }
}
