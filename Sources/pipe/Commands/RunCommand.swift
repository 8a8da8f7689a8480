import ArgumentParser
import Runner

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline: stages whose key is in the store are reused, the rest run.",
        discussion: "Exit status: 0 ok, 1 a stage failed, 2 invalid pipeline or usage, 130 interrupted.")

    @OptionGroup var options: PipelineOptions

    @Option(name: .customShort("j"), help: ArgumentHelp("Stages run at once (default: cores / --threads).", valueName: "n"))
    var jobs: Int?

    @Option(help: ArgumentHelp("Rerun STAGE even if cached (repeatable).", valueName: "stage"))
    var force: [String] = []

    @Flag(help: "Print what would run and why; run nothing.")
    var dryRun = false

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("-j must be at least 1") }
    }

    func run() throws {
        let status = PipelineCommands.run(
            .init(pipelineFile: options.pipeline, overrides: options.overrides, store: options.store, threads: options.threads),
            jobs: jobs, force: force, dryRun: dryRun)
        if status != 0 { throw ExitCode(status) }
    }
}
