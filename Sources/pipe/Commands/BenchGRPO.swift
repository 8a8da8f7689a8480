import ArgumentParser
import Foundation
import Models
import Pipeline
import StageHost
import Stages
import Tensor

/// `pipe bench grpo`: seconds of one GRPO step on config S (16 prompts × G = 8 completions of 16 tokens,
/// β = 0.04, one optimiser step), split into generation, scoring (reward model, reference) and update;
/// side by side with TRL's `GRPOTrainer` on the same shapes (benchmarks/grpo/trl_grpo_step.py).
struct BenchGRPO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpo",
        abstract: "Time of one GRPO step (config S, G = 8, 16 prompts, 16 new tokens) by phase vs TRL's GRPOTrainer.")

    @Option(help: "Timed GRPO steps (after one warm-up step); medians are reported.")
    var steps = 3

    @OptionGroup var comparison: BenchComparisonOptions

    @Option(help: "The TRL reference script (needs torch, transformers, datasets and trl in the --torch-python venv).")
    var trlScript = "benchmarks/grpo/trl_grpo_step.py"

    func run() throws {
        comparison.applyThreads()
        let threads = comparison.threads
        let say = { (line: String) in print(line); fflush(nil) }
        say("pipe bench grpo — config S (vocab 6000, 4 layers, 4 heads, width 256), \(threads) worker thread(s) of one BLAS thread each, OpenBLAS \(BLAS.coreName); load average \(TorchReference.loadAverage())")
        say("  16 prompts × 16 tokens, G = 8 completions of 16 tokens (128 rows), β 0.04, loss dapo, one optimiser step")
        try KernelPreflight.run(say: say)

        let declared = try DeclaredParams.defaults(kind: "grpo", workspace: Workspace(root: FileManager.default.currentDirectoryPath))
        let swift = try GRPOBenchmark.run(steps: steps, declared: declared, threads: threads)

        var trl: GRPOBenchmark.Figures?
        if let python = comparison.python, FileManager.default.fileExists(atPath: trlScript) {
            say("  running TRL: \(python) \(trlScript) --threads \(threads) --steps \(steps)")
            trl = try? BenchPPO.runTorch(python: python, script: trlScript, threads: threads, steps: steps)
            if trl == nil { say("  the TRL run failed (is trl installed in that venv?); showing pipe's figures only") }
        } else {
            say("  no Python with TRL found (--torch-python); showing pipe's figures only (there are no recorded TRL figures to compare with)")
        }
        say("")
        say("  phase        pipe (s)" + (trl == nil ? "" : "    TRL (s)   speed-up"))
        for (name, a, b) in [("generate", swift.generate, trl?.generate), ("score", swift.score, trl?.score),
                             ("update", swift.update, trl?.update), ("total", swift.total, trl?.total)] {
            let row = "  " + name.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: " %9.3f", a)
            say(row + (b.map { String(format: " %10.3f %9.2f×", $0, $0 / a) } ?? ""))
        }
    }
}
