import ArgumentParser
import Foundation
import Commands
import Engine

struct StagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages",
        abstract: "List the stage kinds declared in stages/ with their params, defaults and docs.")

    @Option(help: ArgumentHelp("Workspace directory holding stages/ (default: the current directory).", valueName: "dir"))
    var workspace: String = FileManager.default.currentDirectoryPath

    func run() throws {
        let status = InfoCommands.stages(workspace: workspace, builtinKinds: StageRuntime.thisBinary.builtinKinds)
        try exitOnFailure(status)
    }
}
