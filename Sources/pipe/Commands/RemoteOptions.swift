import ArgumentParser
import Engine

/// `--remote` and the config file that names remotes, for push, pull and status.
struct RemoteOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Remote cache: a name from remotes: in pipe.config.yaml, an http(s):// URL, or a directory (default: the remote marked default: true).", valueName: "name|url|path"))
    var remote: String?

    @Option(help: ArgumentHelp("Config file naming the remotes (default: $PIPE_CONFIG, else ./pipe.config.yaml if present).", valueName: "file"))
    var config: String?

    func settings() throws -> ExecutorSettings {
        do { return try ExecutorSettings.load(explicit: config) } catch { throw ValidationError("\(error)") }
    }
}
