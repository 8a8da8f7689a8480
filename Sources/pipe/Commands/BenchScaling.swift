import ArgumentParser
import Foundation
import Pipeline
import StageHost
import Stages
import Tensor

/// `pipe bench scaling`: seconds per SFT, reward-model and PPO step at 1 and 2 threads (or the
/// `--threads` list) on configs S and M, measured back to back in one run, and the speed-up. The
/// bytes are the same at every thread count (the trainers shard by fixed rows), so only time differs.
struct BenchScaling: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "SFT / RM / PPO step time at 1 and 2 threads (configs S, M) and the speed-up.")

    @Option(help: "Configs, comma-separated: S (4.7 M parameters), M (22 M).")
    var configs = "S,M"

    @Option(help: "Workloads, comma-separated: sft, rm, ppo.")
    var workloads = "sft,rm,ppo"

    @Option(help: "Thread counts, comma-separated; the first is the baseline of the speed-up.")
    var threads = "1,2"

    @Option(help: "Timed steps per thread count (after one warm-up step); the median is reported.")
    var steps = 3

    func run() throws {
        let say = { (line: String) in print(line); fflush(nil) }
        let counts = try threads.split(separator: ",").map { text -> Int in
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)), n >= 1 else {
                throw ValidationError("--threads: '\(text)' is not a thread count (use e.g. 1,2)")
            }
            return n
        }
        let kinds = try workloads.split(separator: ",").map { text -> ScalingBenchmark.Workload in
            guard let w = ScalingBenchmark.Workload(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw ValidationError("--workloads: unknown '\(text)' (use sft, rm, ppo)")
            }
            return w
        }
        let names = configs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        for name in names where ScalingBenchmark.model(name) == nil {
            throw ValidationError("--configs: unknown '\(name)' (use S, M)")
        }
        say("pipe bench scaling — OpenBLAS \(BLAS.coreName), one BLAS thread per worker, \(ProcessInfo.processInfo.activeProcessorCount) cores; load average at start: \(TorchReference.loadAverage())")
        try KernelPreflight.run(say: say)
        let workspace = Workspace(root: FileManager.default.currentDirectoryPath)
        var declared: [String: StageParams] = [:]
        for kind in ["sft", "rm", "ppo"] { declared[kind] = try DeclaredParams.defaults(kind: kind, workspace: workspace) }

        var rows: [ScalingBenchmark.Row] = []
        for name in names {
            for kind in kinds {
                rows.append(try ScalingBenchmark.run(kind, config: name, threads: counts, steps: steps, declared: declared) { say("  " + $0) })
            }
        }
        say("")
        func right(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        say("  step       config" + counts.map { right("\($0) thr (s)", 13) }.joined()
            + counts.dropFirst().map { right("speed-up ×\($0)", 14) }.joined() + "  same bytes")
        for row in rows {
            let base = row.seconds[counts[0]] ?? .nan
            var line = "  " + row.workload.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                + " " + row.config.padding(toLength: 6, withPad: " ", startingAt: 0)
            for n in counts { line += String(format: " %12.3f", row.seconds[n] ?? .nan) }
            for n in counts.dropFirst() { line += String(format: " %12.2f×", base / (row.seconds[n] ?? .nan)) }
            say(line + (row.sameBytes ? "  yes" : "  NO"))
        }
        say("  load average at end: \(TorchReference.loadAverage())")
        if rows.contains(where: { !$0.sameBytes }) {
            throw ValidationError("the thread counts ended with different weights: threads changed the bytes")
        }
    }
}
