import ArgumentParser
import Commands
import Engine

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "For each stage: cached, or why it must run (a sweep planned as `pipe run` plans it).")

    @OptionGroup var options: PipelineOptions

    @Option(help: ArgumentHelp("Plan a sweep as `pipe run --sweep` would: STAGE.PARAM=V1,V2 (repeatable).", valueName: "stage.param=v1,v2"))
    var sweep: [String] = []

    @Flag(help: "Plan only the base pipeline, ignoring the file's sweep: block.")
    var noSweep = false

    func run() throws {
        let status = PipelineCommands.status(
            .init(pipelineFile: options.pipeline, overrides: options.overrides, store: options.store, threads: options.threads,
                  runtime: .thisBinary),
            sweep: .init(sweeps: sweep, ignoreFileSweep: noSweep))
        try exitOnFailure(status)
    }
}
