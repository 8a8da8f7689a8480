import ArgumentParser
import Commands

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Copy a stage's output out of the store (e.g. a model folder loadable with from_pretrained).")

    @Argument(help: "Run id, unique prefix, name, or `latest`.")
    var runID: String

    @Argument(help: "The stage's name in the pipeline.")
    var stage: String

    @Option(help: ArgumentHelp("Which output (needed when the stage has several).", valueName: "name"))
    var output: String?

    @Option(help: ArgumentHelp("Destination directory.", valueName: "dir"))
    var to: String

    @Flag(help: "Write into a non-empty destination.")
    var force = false

    @OptionGroup var storeOption: StoreOption

    func run() throws {
        let status = ReproduceCommands.export(store: storeOption.store, run: runID, stage: stage, output: output, to: to, force: force)
        try exitOnFailure(status)
    }
}
