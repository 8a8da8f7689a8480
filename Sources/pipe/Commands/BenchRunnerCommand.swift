import ArgumentParser
import Foundation
import Commands
import Engine

struct BenchRunnerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runner",
        abstract: "Time no-op `pipe run`, `pipe status`, a 1 GiB-input no-op and the stage-count scaling table (12 to 1,028 stages) by spawning this binary.")

    @Option(help: "Timed runs per figure (median and p90 are reported).")
    var repetitions = 25

    @Option(help: "Size of the large input in MiB (0 skips that figure).")
    var bigInputMib = 1024

    @Flag(help: "Skip the store's hashing/record/registry figures.")
    var skipStore = false

    @Option(help: "Timed runs per row of the stage-count scaling table (median reported; 0 skips the table).")
    var scalingRepetitions = 5

    @Flag(help: "Only the stage-count scaling table.")
    var scalingOnly = false

    @Option(help: ArgumentHelp("Measure this pipe binary instead of this one (e.g. an older build, for before/after).", valueName: "path"))
    var executable: String?

    @Option(help: "Keep the benchmark workspace in this directory (default: a temp dir, removed).")
    var directory: String?

    func run() throws {
        try RunnerBenchmark.run(pipeExecutable: executable ?? LocalExecutor.currentExecutable(), directory: directory,
                                repetitions: max(1, repetitions), bigInputBytes: Int64(max(0, bigInputMib)) << 20,
                                includeStore: !skipStore, scalingRepetitions: max(0, scalingRepetitions),
                                scalingOnly: scalingOnly) { line in print(line); fflush(nil) }
    }
}
