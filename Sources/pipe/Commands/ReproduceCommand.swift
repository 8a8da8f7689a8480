import ArgumentParser
import Commands
import Engine

struct ReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract: "Re-execute every stage of a run (or lock file) without the cache and check every output digest.",
        discussion: """
            Runs into a scratch store with the run's params and thread setting, then prints per stage whether its key and \
            outputs are identical, and which stage diverged first and why: params/definition changed, environment changed, \
            or the same key produced different bytes (non-determinism). Exit status: 0 identical, 1 diverged, 2 usage error.
            """)

    @Argument(help: "Run id, unique prefix, name, or `latest` (default: latest).")
    var runID: String?

    @Option(help: ArgumentHelp("Reproduce a lock file (pipelines/NAME.lock) instead of a recorded run.", valueName: "file"))
    var lock: String?

    @Option(help: ArgumentHelp("With a sweep lock file: the variant to reproduce.", valueName: "name"))
    var variant: String?

    @Option(name: .customShort("j"), help: ArgumentHelp("Stages run at once.", valueName: "n"))
    var jobs: Int?

    @Option(help: ArgumentHelp("Build into this (empty) directory and keep it, instead of a temporary scratch store.", valueName: "dir"))
    var scratch: String?

    @OptionGroup var storeOption: StoreOption

    func validate() throws {
        if runID != nil && lock != nil { throw ValidationError("give a run or --lock, not both") }
        if let jobs, jobs < 1 { throw ValidationError("-j must be at least 1") }
    }

    func run() throws {
        let status = ReproduceCommands.reproduce(store: storeOption.store, run: runID, lock: lock, variant: variant,
                                                 jobs: jobs, scratch: scratch, runtime: .thisBinary)
        try exitOnFailure(status)
    }
}
