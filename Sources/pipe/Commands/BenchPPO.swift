import ArgumentParser
import Foundation
import Models
import Pipeline
import StageHost
import Stages
import Tensor

/// `pipe bench ppo`: seconds of one PPO step on config S (64 queries × 16 tokens, 16-token responses,
/// 4 epochs × 4 minibatches of 16), split into generation, scoring (policy, reference, value, reward
/// forwards) and update; side by side with the PyTorch reference benchmarks/ppo/pytorch_ppo_step.py.
struct BenchPPO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppo",
        abstract: "Time of one PPO step (config S) by phase vs a PyTorch reference loop.")

    @Option(help: "Timed PPO steps (after one warm-up step); medians are reported.")
    var steps = 5

    @Option(help: "Rounds: pipe and PyTorch measured alternately this many times, each round's table printed, then the median of the rounds' speed-ups (on a shared host both sides' speeds drift by tens of percent within minutes).")
    var rounds = 1

    @OptionGroup var comparison: BenchComparisonOptions

    @Option(help: "The PyTorch reference script.")
    var torchScript = "benchmarks/ppo/pytorch_ppo_step.py"

    func run() throws {
        comparison.applyThreads()
        let threads = comparison.threads
        let say = { (line: String) in print(line); fflush(nil) }
        say("pipe bench ppo — config S (vocab 6000, 4 layers, 4 heads, width 256), \(threads) worker thread(s) of one BLAS thread each, OpenBLAS \(BLAS.coreName); load average \(TorchReference.loadAverage())")
        say("  64 queries × 16 tokens, 16-token responses, 4 epochs × 4 minibatches of 16")
        try KernelPreflight.run(say: say)

        let declared = try DeclaredParams.defaults(kind: "ppo", workspace: Workspace(root: FileManager.default.currentDirectoryPath))
        let python = comparison.python
        var totals: [Double] = []
        for round in 1...max(1, rounds) {
            if rounds > 1 { say("  round \(round) of \(rounds)") }
            let swift = try PPOBenchmark.run(steps: steps, declared: declared, threads: threads)
            var torch = PPOBenchmark.Figures(generate: 0.58, score: 0.90, update: 3.91, total: 5.40)   // benchmarks/gpt/anchors.md, 1 thread
            var measured = false
            if let python, FileManager.default.fileExists(atPath: torchScript) {
                say("  running PyTorch: \(python) \(torchScript) --threads \(threads) --steps \(steps)")
                if let t = try? Self.runTorch(python: python, script: torchScript, threads: threads, steps: steps) { torch = t; measured = true }
                else { say("  PyTorch run failed; using the reference figures") }
            } else {
                say("  no PyTorch found (--torch-python); comparing with the figures in benchmarks/gpt/anchors.md (NOT measured now; run with --torch-python to compare)")
            }
            say("")
            say("  phase        pipe (s)   PyTorch (s)\(measured ? "" : " [reference]")   speed-up")
            for (name, a, b) in [("generate", swift.generate, torch.generate), ("score", swift.score, torch.score),
                                 ("update", swift.update, torch.update), ("total", swift.total, torch.total)] {
                say("  " + name.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: " %9.3f %12.3f %12.2f×", a, b, b / a))
            }
            if measured { totals.append(torch.total / swift.total) }
        }
        if totals.count > 1 {
            say("  \(totals.count) alternating rounds, total speed-up: \(roundsSummary(totals))")
        }
    }

    static func runTorch(python: String, script: String, threads: Int, steps: Int) throws -> PPOBenchmark.Figures {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, "--threads", "\(threads)", "--steps", "\(steps)", "--json"]
        var env = ProcessInfo.processInfo.environment
        env["OMP_NUM_THREADS"] = "\(threads)"
        process.environment = env
        let pipe = Foundation.Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last else {
            throw ValidationError("PyTorch reference exited with \(process.terminationStatus)")
        }
        return try JSONDecoder().decode(PPOBenchmark.Figures.self, from: Data(line.utf8))
    }
}
