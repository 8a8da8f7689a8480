import Engine
import Foundation
import Store

/// `pipe bench runner`: how fast pipe decides that nothing needs to run, measured by spawning the
/// real binary like a user would. Builds a temp workspace with the 6-stage command pipeline
/// (`CommandPipelineFixture`), runs it once, then times no-op `pipe run`, `pipe status`, `pipe dag`
/// (start-up + parse floor), a no-op run whose first stage depends on a 1 GiB file, and the
/// stage-count scaling table (`RunnerScalingBenchmark`: 12 to 1,028 stages).
public enum RunnerBenchmark {
    public struct Figure: Sendable {
        public var name: String
        /// Wall-clock seconds per run.
        public var samples: [Double]
        /// CPU seconds (user + system) per run.
        public var cpuSamples: [Double] = []
        public var target: Double?

        public var median: Double { Self.percentile(samples, 0.5) }
        public var p90: Double { Self.percentile(samples, 0.9) }
        public var best: Double { samples.min() ?? 0 }

        static func percentile(_ values: [Double], _ p: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            let sorted = values.sorted()
            let rank = p * Double(sorted.count - 1)
            let low = Int(rank.rounded(.down)), high = Int(rank.rounded(.up))
            return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
        }

        public var line: String {
            var text = ("runner." + name).padding(toLength: 30, withPad: " ", startingAt: 0)
                + String(format: "wall median %6.1f ms  p90 %6.1f ms  best %6.1f ms   cpu median %5.1f ms   (n=%d)",
                         median * 1000, p90 * 1000, best * 1000, Self.percentile(cpuSamples, 0.5) * 1000, samples.count)
            if let target {
                text += String(format: "   target ≤ %.0f ms: %@", target * 1000, median <= target ? "met" : "MISSED")
            }
            return text
        }
    }

    /// Runs everything and prints lines to `output` as figures become available.
    /// - Parameters:
    ///   - repetitions: timed runs per figure (≥ 20 for the report).
    ///   - bigInputBytes: size of the large-input file (1 GiB by default; 0 skips that figure).
    public static func run(pipeExecutable: String, directory: String? = nil, repetitions: Int = 25,
                           bigInputBytes: Int64 = 1 << 30, includeStore: Bool = true,
                           scalingRepetitions: Int = 5, scalingOnly: Bool = false,
                           output: (String) -> Void) throws {
        let base = directory ?? (NSTemporaryDirectory() + "pipe-bench-runner-\(getpid())")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: base) } }

        output("pipe bench runner: \(pipeExecutable)")
        output("wall = spawn to exit of the real binary; cpu = its user+system time (robust when other jobs share the cores)")
        output("load average at start: " + loadAverage())
        if scalingOnly {
            _ = try RunnerScalingBenchmark.run(pipeExecutable: pipeExecutable, base: base, repetitions: scalingRepetitions, output: output)
            output("load average at end: " + loadAverage())
            return
        }

        output("workspace: 6-stage command pipeline (tokenise → sft → pairs → rm → ppo → evaluate), \(repetitions) timed runs each")
        let small = base + "/ws"
        try CommandPipelineFixture.write(into: small)
        let pipeline = CommandPipelineFixture.pipelineFile
        let cold = try time(pipeExecutable, ["run", pipeline], in: small, expectSuccess: true)
        output(String(format: "runner.first-run              %6.1f ms (executes all 6 stages)", cold * 1000))

        var figures: [Figure] = []
        func measure(_ name: String, _ arguments: [String], in workspace: String, target: Double?) throws {
            _ = try time(pipeExecutable, arguments, in: workspace, expectSuccess: true)  // warm the page cache
            var samples: [Double] = [], cpu: [Double] = []
            for _ in 0..<repetitions {
                let (wall, used) = try Self.timeAndCPU(pipeExecutable, arguments, in: workspace, expectSuccess: true)
                samples.append(wall)
                cpu.append(used)
            }
            let figure = Figure(name: name, samples: samples, cpuSamples: cpu, target: target)
            figures.append(figure)
            output(figure.line)
        }
        try measure("noop-run", ["run", pipeline], in: small, target: 0.050)
        try measure("status", ["status", pipeline], in: small, target: 0.050)
        try measure("dry-run", ["run", "--dry-run", pipeline], in: small, target: nil)
        try measure("dag (start-up+parse)", ["dag", pipeline], in: small, target: nil)
        try measure("help (start-up only)", ["--help"], in: small, target: nil)

        if bigInputBytes > 0 {
            let big = base + "/ws-big"
            try CommandPipelineFixture.write(into: big, extraTokenDeps: ["data/big.bin"])
            try writeFile(big + "/data/big.bin", bytes: bigInputBytes)
            let first = try time(pipeExecutable, ["run", pipeline], in: big, expectSuccess: true)
            let gib = Double(bigInputBytes) / Double(1 << 30)
            output(String(format: "runner.first-run-big-input    %6.1f ms (hashes the %.2f GiB input: %.2f GB/s incl. running 6 stages)",
                          first * 1000, gib, Double(bigInputBytes) / 1e9 / first))
            try measure("noop-run-1GiB-input", ["run", pipeline], in: big, target: 0.060)
        }

        if scalingRepetitions > 0 {
            _ = try RunnerScalingBenchmark.run(pipeExecutable: pipeExecutable, base: base, repetitions: scalingRepetitions, output: output)
        }
        output("load average at end: " + loadAverage())
        if includeStore {
            output("store figures (StoreBenchmark):")
            for line in try StoreBenchmark.run(at: base + "/store-bench", fileSize: bigInputBytes > 0 ? bigInputBytes : 1 << 28) {
                output("  " + line)
            }
        }
    }

    /// Wall time of one `pipe` invocation (spawn → exit), output discarded.
    static func time(_ executable: String, _ arguments: [String], in directory: String, expectSuccess: Bool) throws -> Double {
        try timeAndCPU(executable, arguments, in: directory, expectSuccess: expectSuccess).wall
    }

    /// Wall and CPU time of one `pipe` invocation.
    static func timeAndCPU(_ executable: String, _ arguments: [String], in directory: String,
                        expectSuccess: Bool) throws -> (wall: Double, cpu: Double) {
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        // The project default (Makefile, CI); unset, OpenBLAS starts a spin-waiting thread at load.
        if environment["OPENBLAS_NUM_THREADS"] == nil { environment["OPENBLAS_NUM_THREADS"] = "1" }
        let start = ContinuousClock.now
        let child = try ChildProcess.spawn(executable: executable, arguments: arguments,
                                           environment: environment.map { "\($0.key)=\($0.value)" },
                                           directory: directory, logPath: "/dev/null")
        let (termination, cpu) = child.waitMeasuringCPU()
        let elapsed = ContinuousClock.now - start
        if expectSuccess && !termination.succeeded {
            throw RunnerError.io("benchmark: `pipe \(arguments.joined(separator: " "))` in \(directory) ended with \(termination)")
        }
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, cpu)
    }

    static func loadAverage() -> String {
        var loads = [Double](repeating: 0, count: 3)
        guard getloadavg(&loads, 3) == 3 else { return "unknown" }
        return String(format: "%.2f %.2f %.2f", loads[0], loads[1], loads[2]) + " (on \(ProcessInfo.processInfo.activeProcessorCount) cores)"
    }

    /// Writes `bytes` of deterministic, non-constant data (so nothing can shortcut the hashing).
    static func writeFile(_ path: String, bytes: Int64) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunnerError.io("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var chunk = [UInt64](repeating: 0, count: (8 << 20) / 8)
        var state: UInt64 = 0x9E3779B97F4A7C15
        var left = bytes
        while left > 0 {
            for i in chunk.indices {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                chunk[i] = state
            }
            let count = Int(min(left, Int64(chunk.count * 8)))
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, count) }
            guard written == count else { throw RunnerError.io("short write to \(path)") }
            left -= Int64(count)
        }
    }
}
