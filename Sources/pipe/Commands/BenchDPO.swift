import ArgumentParser
import Foundation
import Models
import Pipeline
import StageHost
import Stages
import Tensor

/// `pipe bench dpo`: seconds of one DPO step on config S (16 pairs of 16 + 16 tokens, loss sigmoid, one
/// optimiser step), with the reference forward in the step and precomputed, side by side with TRL's
/// `DPOTrainer` on the same shapes (benchmarks/dpo/trl_dpo_step.py).
struct BenchDPO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dpo",
        abstract: "Time of one DPO step (config S, 16 pairs of 16 + 16 tokens) vs TRL's DPOTrainer.")

    @Option(help: "Timed DPO steps (after one warm-up step); medians are reported.")
    var steps = 5

    @OptionGroup var comparison: BenchComparisonOptions

    @Option(help: "The TRL reference script (needs torch, transformers, datasets and trl in the --torch-python venv).")
    var trlScript = "benchmarks/dpo/trl_dpo_step.py"

    func run() throws {
        comparison.applyThreads()
        let threads = comparison.threads
        let say = { (line: String) in print(line); fflush(nil) }
        say("pipe bench dpo — config S (vocab 6000, 4 layers, 4 heads, width 256), \(threads) worker thread(s) of one BLAS thread each, OpenBLAS \(BLAS.coreName); load average \(TorchReference.loadAverage())")
        say("  16 pairs × (16 prompt + 16 completion tokens), chosen and rejected: 32 rows; loss sigmoid, β 0.1, one optimiser step")
        try KernelPreflight.run(say: say)
        let declared = try DeclaredParams.defaults(kind: "dpo", workspace: Workspace(root: FileManager.default.currentDirectoryPath))
        let swift = try DPOBenchmark.run(steps: steps, declared: declared, threads: threads)

        var trl: DPOBenchmark.Figures?
        if let python = comparison.python, FileManager.default.fileExists(atPath: trlScript) {
            say("  running TRL: \(python) \(trlScript) --threads \(threads) --steps \(steps)")
            trl = try? runTRL(python: python, threads: threads)
            if trl == nil { say("  the TRL run failed (is trl installed in that venv?); showing pipe's figures only") }
        } else {
            say("  no Python with TRL found (--torch-python); showing pipe's figures only")
        }
        say("")
        say("  step                        pipe (s)" + (trl == nil ? "" : "    TRL (s)   speed-up"))
        for (name, a, b) in [("reference in the step", swift.step, trl?.step), ("reference precomputed", swift.stepPrecomputed, trl?.stepPrecomputed)] {
            let row = "  " + name.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: " %9.3f", a)
            say(row + (b.map { String(format: " %10.3f %9.2f×", $0, $0 / a) } ?? ""))
        }
    }

    func runTRL(python: String, threads: Int) throws -> DPOBenchmark.Figures {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [trlScript, "--threads", "\(threads)", "--steps", "\(steps)", "--json"]
        var env = ProcessInfo.processInfo.environment
        env["OMP_NUM_THREADS"] = "\(threads)"
        process.environment = env
        let output = Foundation.Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last else {
            throw ValidationError("TRL reference exited with \(process.terminationStatus)")
        }
        return try JSONDecoder().decode(DPOBenchmark.Figures.self, from: Data(line.utf8))
    }
}
