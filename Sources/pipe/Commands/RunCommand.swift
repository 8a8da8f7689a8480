import ArgumentParser
import Commands
import Engine

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline: stages whose key is in the store are reused, the rest run.",
        discussion: "Exit status: 0 ok, 1 a stage failed, 2 invalid pipeline or usage, 130 interrupted.")

    @OptionGroup var options: PipelineOptions

    @OptionGroup(title: "Executor") var executorOptions: ExecutorOptions

    @Option(name: .customShort("j"), help: ArgumentHelp("Stages run at once (default: one per core; running stages share the cores).", valueName: "n"))
    var jobs: Int?

    @Option(help: ArgumentHelp("Rerun STAGE even if cached (repeatable).", valueName: "stage"))
    var force: [String] = []

    @Flag(help: "Print what would run and why; run nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Sweep a param over values: STAGE.PARAM=V1,V2 (repeatable; axes form a grid with the file's sweep:).", valueName: "stage.param=v1,v2"))
    var sweep: [String] = []

    @Option(help: ArgumentHelp("Rank the sweep table by this metric (default: the file's sweep: metric:).", valueName: "stage.metric"))
    var rankBy: String?

    @Option(help: ArgumentHelp("With --rank-by: max (default) or min.", valueName: "max|min"))
    var goal: String?

    @Flag(help: "Run only the base pipeline, ignoring the file's sweep: block.")
    var noSweep = false

    @Option(help: ArgumentHelp("Read through this remote cache: a stage missing locally whose key the remote has is downloaded instead of run (a name from remotes: in the config file, an http(s):// URL or a directory).", valueName: "name|url|path"))
    var remote: String?

    @Flag(help: "After the run, push its results to the remote (--remote, else the config file's default remote).")
    var push = false

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("-j must be at least 1") }
        if let goal, goal != "max" && goal != "min" { throw ValidationError("--goal must be max or min, not '\(goal)'") }
    }

    func run() throws {
        let status = RunCommands.run(
            .init(pipelineFile: options.pipeline, overrides: options.overrides, store: options.store, threads: options.threads,
                  executor: try executorOptions.settings(), runtime: .thisBinary),
            sweep: .init(sweeps: sweep, rankBy: rankBy, maximize: goal.map { $0 == "max" }, ignoreFileSweep: noSweep),
            jobs: jobs, force: force, dryRun: dryRun, remote: remote, push: push)
        try exitOnFailure(status)
    }
}
