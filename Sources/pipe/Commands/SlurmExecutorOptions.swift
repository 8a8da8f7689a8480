import ArgumentParser
import Commands
import Engine

/// `pipe run` flags that choose where stages run. They win over the executor config file
/// (`--executor-config`, `$PIPE_CONFIG`, or `pipe.config.yaml`; see `ExecutorSettings`).
struct ExecutorOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Where stages run: local (child processes) or slurm (one sbatch job per stage).", valueName: "local|slurm"))
    var executor: String?

    @Option(help: ArgumentHelp("Executor config file (default: $PIPE_CONFIG, else ./pipe.config.yaml if present).", valueName: "file"))
    var executorConfig: String?

    @Option(help: ArgumentHelp("Slurm partition for every job (--executor slurm).", valueName: "name"))
    var slurmPartition: String?

    @Option(help: ArgumentHelp("Extra sbatch flag for every job, e.g. --slurm-flag=--qos=short (repeatable).", valueName: "flag"))
    var slurmFlag: [String] = []

    func validate() throws {
        if let executor, ExecutorSettings.Kind(rawValue: executor) == nil {
            throw ValidationError("--executor must be local or slurm, not '\(executor)'")
        }
        for flag in slurmFlag where !flag.hasPrefix("-") {
            throw ValidationError("--slurm-flag '\(flag)' is not an sbatch flag (write e.g. --slurm-flag=--qos=short)")
        }
    }

    /// The config file's settings with these flags applied.
    func settings() throws -> ExecutorSettings {
        var settings: ExecutorSettings
        do { settings = try ExecutorSettings.load(explicit: executorConfig) } catch {
            throw ValidationError("\(error)")
        }
        if let executor, let kind = ExecutorSettings.Kind(rawValue: executor) { settings.kind = kind }
        if let slurmPartition { settings.slurm.partition = slurmPartition }
        settings.slurm.flags += slurmFlag
        return settings
    }
}
