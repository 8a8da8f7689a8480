import ArgumentParser

/// `pipe bench …`: printed performance figures (release build). To add a benchmark, write a
/// `ParsableCommand` in its own file and list it in `benchmarks`; `pipe bench all` runs each in turn
/// with its default options.
struct BenchCommand: ParsableCommand {
    static let benchmarks: [any ParsableCommand.Type] = [
        BenchRunnerCommand.self, BenchSweepCommand.self, BenchRemoteCommand.self, BenchGPT.self, BenchPPO.self, BenchGRPO.self,
        BenchDPO.self, BenchDataset.self, BenchTokenise.self, BenchScaling.self,
    ]

    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Performance benchmarks (build with -c release first).",
        subcommands: benchmarks + [BenchAllCommand.self])
}

struct BenchAllCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "all", abstract: "Run every benchmark with its defaults.")

    func run() throws {
        for benchmark in BenchCommand.benchmarks {
            var command = try benchmark.parseAsRoot([])
            try command.run()
        }
    }
}
