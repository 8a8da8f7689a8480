import ArgumentParser
import Commands
import Engine
import Foundation

struct BenchRemoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote",
        abstract: "Push, pull and read through a remote cache on a local nginx WebDAV server (skipped when nginx is missing).")

    @Option(help: "MiB of stage results to move.")
    var megabytes = 100

    @Option(help: "Timed runs per figure (the median is reported).")
    var repetitions = 3

    @Option(help: ArgumentHelp("Push and pull a copy of this store's results (e.g. a flagship run) instead of synthetic ones.", valueName: "dir"))
    var fromStore: String?

    func run() throws {
        try RemoteBenchmark.run(pipeExecutable: LocalExecutor.currentExecutable(), megabytes: max(3, megabytes),
                                repetitions: max(1, repetitions), fromStore: fromStore) { line in print(line); fflush(nil) }
    }
}
