import ArgumentParser
import Foundation
import Models
import Tensor

/// `pipe bench gpt`: training and sampling throughput of the Swift GPT on configs S, M and L, side by side
/// with PyTorch on the same machine in the same run (benchmarks/gpt/pytorch_gpt.py, when a Python with
/// torch + transformers is available), plus the one-core sgemm peak and peak memory. Without PyTorch it
/// compares with the figures recorded in benchmarks/gpt/anchors.md (not measured in the run).
struct BenchGPT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpt",
        abstract: "GPT training/sampling throughput vs PyTorch (configs S, M, L; one BLAS thread).")

    @Option(help: "Configs to run, comma-separated: S (4.7 M parameters), M (22 M), L (102 M, the uer/gpt2-chinese-cluecorpussmall shape).")
    var configs = "S,M"

    @Option(help: "Timed training steps per config (after warm-up; the median is reported).")
    var steps = 10

    @Option(help: "Warm-up training steps.")
    var warmup = 2

    @Option(help: "Timed sampling runs (16 prompts × 16 tokens → 64 new tokens).")
    var sampleRepeats = 5

    @Option(help: "Rounds per config: pipe and PyTorch measured alternately this many times, each round's table printed, then the median of the rounds' ratios (on a shared host both sides' speeds drift by tens of percent within minutes).")
    var rounds = 1

    @OptionGroup var comparison: BenchComparisonOptions

    @Option(help: "The PyTorch reference script.")
    var torchScript = "benchmarks/gpt/pytorch_gpt.py"

    func run() throws {
        comparison.applyThreads()
        let threads = comparison.threads
        let python = comparison.python
        let say = { (line: String) in print(line); fflush(nil) }
        say("pipe bench gpt — \(threads) thread(s) (training above 1: pipe's worker pool of one BLAS thread each, as the stages train; sampling: BLAS threads), OpenBLAS \(BLAS.coreName); load average at start: \(TorchReference.loadAverage())")
        try KernelPreflight.run(say: say)
        let (peak, peakPerCPU) = GPTBenchmark.sgemmPeak()
        let sgemmLabel = threads == 1 ? "one-core sgemm peak" : "sgemm peak on \(threads) BLAS threads"
        say(sgemmLabel + String(format: " (1024³, best of 30): %.1f GFLOP/s wall; median %.1f GFLOP per CPU-second", peak, peakPerCPU))
        if python == nil {
            say("PyTorch: none chosen or found; comparing with the figures recorded in benchmarks/gpt/anchors.md (1 thread, NOT measured in this run). Run with --torch-python PYTHON (torch + transformers) to compare side by side.")
        }
        for name in configs.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).uppercased() }) {
            guard let setup = GPTBenchmark.Setup.all.first(where: { $0.name == name }) else {
                throw ValidationError("unknown config '\(name)' in --configs (use S, M, L)")
            }
            var trainRatios: [Double] = [], sampleRatios: [Double] = []
            for round in 1...max(1, rounds) {
                if rounds > 1 { say("  \(name): round \(round) of \(rounds)") }
                let swift = try GPTBenchmark.run(setup, trainSteps: steps, warmup: warmup, sampleRepeats: sampleRepeats,
                                                 threads: threads) { say("  " + $0) }
                var torch: TorchFigures?
                if let python {
                    say("  \(name): running PyTorch (\(python) \(torchScript))")
                    torch = try runTorch(python: python, config: name)
                }
                report(swift, torch: torch ?? TorchFigures.anchors[name], measured: torch != nil, peak: peak,
                       peakPerCPU: peakPerCPU, setup: setup, say: say)
                if let torch {
                    trainRatios.append(swift.trainTokensPerSecond / torch.train.tokens_per_s)
                    sampleRatios.append(swift.sampleTokensPerSecond / torch.generate.tokens_per_s)
                }
            }
            if trainRatios.count > 1 {
                say("config \(name), \(trainRatios.count) alternating rounds: training vs PyTorch \(roundsSummary(trainRatios)); sampling vs generate \(roundsSummary(sampleRatios))")
            }
        }
    }

    struct TorchFigures: Decodable {
        struct Figure: Decodable {
            var tokens_per_s: Double
            var tokens_per_cpu_s: Double?
        }
        var train: Figure
        var generate: Figure
        var loop: Figure
        var peak_rss_mib: Double?
        var torch: String?
        /// torch.mm 1024³ (its BLAS: MKL on x86), measured like `GPTBenchmark.sgemmPeak`.
        var sgemm: Sgemm?

        struct Sgemm: Decodable {
            var best_gflops: Double
            var cpu_median_gflops: Double
        }

        /// benchmarks/gpt/anchors.md, 1 thread (own nanoGPT loop / HF generate / own KV loop).
        static let anchors: [String: TorchFigures] = [
            "S": TorchFigures(train: Figure(tokens_per_s: 1784), generate: Figure(tokens_per_s: 922), loop: Figure(tokens_per_s: 1131), peak_rss_mib: 721),
            "M": TorchFigures(train: Figure(tokens_per_s: 435), generate: Figure(tokens_per_s: 419), loop: Figure(tokens_per_s: 470), peak_rss_mib: 1312),
            // Measured on a loaded box: compare the per-CPU-second rows (see anchors.md).
            "L": TorchFigures(train: Figure(tokens_per_s: 64, tokens_per_cpu_s: 135), generate: Figure(tokens_per_s: 44, tokens_per_cpu_s: 102),
                              loop: Figure(tokens_per_s: 44, tokens_per_cpu_s: 112), peak_rss_mib: 2976),
        ]
    }

    func runTorch(python: String, config: String) throws -> TorchFigures {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [torchScript, "--config", config, "--threads", "\(comparison.threads)", "--steps", "\(steps)",
                             "--warmup", "\(warmup)", "--sample-repeats", "\(sampleRepeats)", "--json"]
        var environment = ProcessInfo.processInfo.environment
        environment["OMP_NUM_THREADS"] = "\(comparison.threads)"
        environment["OPENBLAS_NUM_THREADS"] = "\(comparison.threads)"
        process.environment = environment
        let output = Foundation.Pipe()  // not the `pipe` command struct
        process.standardOutput = output
        do { try process.run() } catch {
            throw ValidationError("cannot run \(python) \(torchScript): \(error.localizedDescription)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw ValidationError("\(torchScript) failed (exit \(process.terminationStatus)); run it by hand to see why")
        }
        return try JSONDecoder().decode(TorchFigures.self, from: Data(line.utf8))
    }

    func report(_ s: GPTBenchmark.Result, torch: TorchFigures?, measured: Bool, peak: Double, peakPerCPU: Double,
                setup: GPTBenchmark.Setup,
                say: (String) -> Void) {
        let label = torch == nil ? "PyTorch (none)" : measured ? "PyTorch \(torch?.torch ?? "")" : "PyTorch (anchors.md)"
        func ratio(_ a: Double, _ b: Double?) -> String { b.map { String(format: "%.2f×", a / $0) } ?? "–" }
        let trainCPU = Double(setup.batch * setup.time) / s.trainStep.cpuMedian
        let sampleCPU = 1024 / s.sample.cpuMedian
        say("")
        say("config \(s.setup): \(s.parameters) parameters, batch \(setup.batch) × context \(setup.time)")
        func row(_ what: String, _ swift: String, _ torch: String, _ r: String) {
            say("  " + what.padding(toLength: 36, withPad: " ", startingAt: 0) + leftPad(swift, 10) + leftPad(torch, 20) + leftPad(r, 14))
        }
        func f0(_ x: Double?) -> String { x.map { String(format: "%.0f", $0) } ?? "–" }
        func f1(_ x: Double) -> String { String(format: "%.1f", x) }
        row("", "Swift", label, "ratio")
        row("training tokens/s", f0(s.trainTokensPerSecond), f0(torch?.train.tokens_per_s), ratio(s.trainTokensPerSecond, torch?.train.tokens_per_s))
        if let cpu = torch?.train.tokens_per_cpu_s {
            row("training tokens per CPU-second", f0(trainCPU), f0(cpu), ratio(trainCPU, cpu))
        }
        row("sampling new tokens/s vs generate", f0(s.sampleTokensPerSecond), f0(torch?.generate.tokens_per_s),
            ratio(s.sampleTokensPerSecond, torch?.generate.tokens_per_s))
        row("sampling new tokens/s vs own loop", f0(s.sampleTokensPerSecond), f0(torch?.loop.tokens_per_s),
            ratio(s.sampleTokensPerSecond, torch?.loop.tokens_per_s))
        if let g = torch?.generate.tokens_per_cpu_s, let l = torch?.loop.tokens_per_cpu_s {
            row("sampling per CPU-s (gen / loop)", f0(sampleCPU), "\(f0(g)) / \(f0(l))", "\(ratio(sampleCPU, g)) / \(ratio(sampleCPU, l))")
        }
        row("peak RSS MiB", f0(s.peakRSSMiB), f0(torch?.peak_rss_mib), "")
        if let mm = torch?.sgemm {
            // Each side's training rate as a share of its own BLAS's sgemm: the training ratio cannot
            // exceed the libraries' sgemm ratio by more than the GEMM-bound side leaves on the table.
            let torchTrainGFLOPs = torch.map { GPTBenchmark.trainFLOPsPerToken(setup.config, time: setup.time) * $0.train.tokens_per_s / 1e9 } ?? 0
            row("sgemm 1024³ GFLOP/s (best wall)", f1(peak), f1(mm.best_gflops), ratio(peak, mm.best_gflops))
            row("sgemm GFLOP per CPU-s (median)", f1(peakPerCPU), f1(mm.cpu_median_gflops), ratio(peakPerCPU, mm.cpu_median_gflops))
            row("training GFLOP/s, % of own sgemm", String(format: "%.0f%%", 100 * s.trainGFLOPs / peak),
                String(format: "%.0f%%", 100 * torchTrainGFLOPs / mm.best_gflops), "")
        }
        if torch == nil {
            say("  (no PyTorch figures for config \(s.setup) in benchmarks/gpt/anchors.md: run with --torch-python to compare)")
        }
        let flopsPerStep = GPTBenchmark.trainFLOPsPerToken(setup.config, time: setup.time) * Double(setup.batch * setup.time)
        say(String(format: "  training: %.3f s/step (min %.3f, max %.3f), %.1f GFLOP/s = %.0f%% of the sgemm peak; CPU share %.2f;"
                   + " per CPU-second %.1f GFLOP = %.0f%% of the sgemm's", s.trainStep.median, s.trainStep.min, s.trainStep.max,
                   s.trainGFLOPs, 100 * s.trainGFLOPs / peak, s.trainStep.cpuShare, flopsPerStep / s.trainStep.cpuMedian / 1e9,
                   100 * flopsPerStep / s.trainStep.cpuMedian / 1e9 / peakPerCPU))
        say(String(format: "  sampling: %.3f s per 16×64 (min %.3f, max %.3f); CPU share %.2f (below ~0.9 = other processes took the core)",
                   s.sample.median, s.sample.min, s.sample.max, s.sample.cpuShare))
    }

    func leftPad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
