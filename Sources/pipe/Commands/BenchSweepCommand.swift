import ArgumentParser
import Foundation
import Commands
import Engine

struct BenchSweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Scheduling overhead of a 4-variant sweep of millisecond stages (spawns this binary).")

    @Option(help: "Cold sweeps timed (median and p90 are reported).")
    var repetitions = 10

    @Option(name: .customShort("j"), help: "Workers for the sweep.")
    var jobs = 2

    @Option(help: ArgumentHelp("Keep the benchmark workspace in this directory (default: a temp dir, removed).", valueName: "dir"))
    var directory: String?

    func run() throws {
        try SweepBenchmark.run(pipeExecutable: LocalExecutor.currentExecutable(), directory: directory,
                               repetitions: max(1, repetitions), jobs: max(1, jobs)) { line in print(line); fflush(nil) }
    }
}
