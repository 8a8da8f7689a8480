import ArgumentParser
import StageHost
import Tensor

/// `pipe _stage INVOCATION.json`: the child process that runs one built-in stage. Internal.
struct StageProcessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_stage",
        abstract: "Run one built-in stage from an invocation file (internal; used by the runner).",
        shouldDisplay: false)

    @Argument(help: "The invocation JSON written by the scheduler.")
    var invocation: String

    func run() throws {
        do { try BLAS.checkLoadedCore() } catch { throw ValidationError(error.description) }
        let status = StageProcess.main(invocationPath: invocation)
        try exitOnFailure(status)
    }
}
