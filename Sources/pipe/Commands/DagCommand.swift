import ArgumentParser
import Commands
import Engine

extension PipelineCommands.DAGFormat: ExpressibleByArgument {}

struct DagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dag",
        abstract: "Print the pipeline's stage graph.")

    @Argument(help: "The pipeline file.")
    var pipeline: String

    @Option(help: "text, mermaid or dot.")
    var format: PipelineCommands.DAGFormat = .text

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a param: STAGE.PARAM=VALUE.", valueName: "stage.param=value"))
    var overrides: [String] = []

    func run() throws {
        let status = PipelineCommands.dag(.init(pipelineFile: pipeline, overrides: overrides, runtime: .thisBinary), format: format)
        try exitOnFailure(status)
    }
}
