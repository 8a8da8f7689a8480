import ArgumentParser
import Commands

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Print the log (stdout and stderr) a stage of a run wrote.")

    @Argument(help: "Run id, unique prefix, name, or `latest`.")
    var runID: String

    @Argument(help: "The stage's name in the pipeline.")
    var stage: String

    @OptionGroup var storeOption: StoreOption

    func run() throws {
        let status = HistoryCommands.log(store: storeOption.store, run: runID, stage: stage)
        try exitOnFailure(status)
    }
}
