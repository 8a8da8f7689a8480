import ArgumentParser

/// `--store DIR` for commands that read the run registry and artifact store.
struct StoreOption: ParsableArguments {
    @Option(help: ArgumentHelp("Artifact store directory (default: $PIPE_STORE, else ./artifacts).", valueName: "dir"))
    var store: String?
}
