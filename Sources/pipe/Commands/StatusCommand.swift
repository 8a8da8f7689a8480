import ArgumentParser
import Commands
import Engine

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "For each stage: cached, or why it must run (a sweep planned as `pipe run` plans it).")

    @OptionGroup var options: PipelineOptions

    @Option(help: ArgumentHelp("Also look up stages missing locally in this remote cache (shown as cached (remote)).", valueName: "name|url|path"))
    var remote: String?

    @Option(help: ArgumentHelp("Config file naming the remotes (default: $PIPE_CONFIG, else ./pipe.config.yaml if present).", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Plan a sweep as `pipe run --sweep` would: STAGE.PARAM=V1,V2 (repeatable).", valueName: "stage.param=v1,v2"))
    var sweep: [String] = []

    @Flag(help: "Plan only the base pipeline, ignoring the file's sweep: block.")
    var noSweep = false

    func run() throws {
        var settings = ExecutorSettings()
        if remote != nil {
            do { settings = try ExecutorSettings.load(explicit: config) } catch { throw ValidationError("\(error)") }
        }
        let status = PipelineCommands.status(
            .init(pipelineFile: options.pipeline, overrides: options.overrides, store: options.store, threads: options.threads,
                  executor: settings, runtime: .thisBinary),
            sweep: .init(sweeps: sweep, ignoreFileSweep: noSweep), remote: remote)
        try exitOnFailure(status)
    }
}
