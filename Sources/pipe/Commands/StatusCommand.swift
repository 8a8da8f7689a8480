import ArgumentParser
import Commands
import Engine

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "For each stage: cached, or why it must run.")

    @OptionGroup var options: PipelineOptions

    func run() throws {
        let status = PipelineCommands.status(
            .init(pipelineFile: options.pipeline, overrides: options.overrides, store: options.store, threads: options.threads,
                  runtime: .thisBinary))
        try exitOnFailure(status)
    }
}
