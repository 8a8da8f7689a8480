import ArgumentParser
import Foundation
import Pipeline
import StageHost
import Stages

/// `pipe bench tokenise`: import + BPE training + encoding of 100k generated instruction rows against
/// the 10 s target, at each thread count (bytes compared), then the import's peak memory at two file
/// sizes (it streams: memory must not grow with the file).
struct BenchTokenise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenise",
        abstract: "Import, BPE training and encoding of 100k generated Alpaca rows (target < 10 s), and import memory at two sizes.")

    @Option(help: "Directory for the generated files (kept, so a second run skips generating).")
    var directory = NSTemporaryDirectory() + "pipe-bench-dataset"

    @Option(help: "Rows of the generated Alpaca file.")
    var rows = 100_000

    @Option(help: "Approximate bytes of text per row (430: a 43 MB file at 100k rows).")
    var rowBytes = 430

    @Option(help: "Chinese words: unspaced (written together as Chinese is: long pre-tokenizer pieces, the hard case for BPE training) or spaced (as `pipe bench dataset` writes them).")
    var chinese = "unspaced"

    @Option(help: "BPE vocabulary size (the instruction pipeline's).")
    var vocabSize = 6000

    @Option(help: "Thread counts, comma-separated; the bytes must be equal at each.")
    var threads = "1,2"

    @Flag(help: "Skip the import memory measurement at two file sizes.")
    var noMemory = false

    func run() throws {
        let say = { (line: String) in print(line); fflush(nil) }
        let counts = try threads.split(separator: ",").map { text -> Int in
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)), n >= 1 else {
                throw ValidationError("--threads: '\(text)' is not a thread count (use e.g. 1,2)")
            }
            return n
        }
        guard chinese == "unspaced" || chinese == "spaced" else { throw ValidationError("--chinese: use unspaced or spaced, not '\(chinese)'") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let declared = try DeclaredParams.defaults(kind: "dataset", workspace: Workspace(root: FileManager.default.currentDirectoryPath))
        let settings = try DatasetSettings(declared)
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "n/a"
        say("pipe bench tokenise — \(rows) generated Alpaca rows (~\(rowBytes) B each, Chinese \(chinese)), prompt-completion import, BPE vocab \(vocabSize), "
            + "min_frequency 2; \(ProcessInfo.processInfo.activeProcessorCount) cores, load average at start: \(load); files in \(directory)")
        var first: TokeniseBenchmark.Figures?
        for count in counts {
            let f = try TokeniseBenchmark.run(directory: directory, rows: rows, rowBytes: rowBytes, spacedChinese: chinese == "spaced", vocabSize: vocabSize,
                                              minFrequency: 2, threads: count, settings: settings)
            func phase(_ t: TokeniseBenchmark.Timing) -> String { String(format: "%6.2f s (%6.2f s CPU)", t.seconds, t.cpuSeconds) }
            say("  \(f.threads) thread(s), \(String(format: "%.1f", f.megabytes)) MB: import \(phase(f.importTiming))  train \(phase(f.trainTiming)) on \(f.trainingTexts) texts  "
                + "encode \(phase(f.encodeTiming)) \(f.encodedTexts) texts → \(f.tokens) tokens")
            say(String(format: "    total %.2f s (target < 10 s: %@)", f.totalSeconds, f.totalSeconds < 10 ? "met" : "NOT met")
                + "  dataset \(f.datasetDigest.prefix(12))  tokenizer \(f.tokenizerDigest.prefix(12))  tokens \(f.tokensDigest.prefix(12))")
            if let first {
                let same = first.datasetDigest == f.datasetDigest && first.tokenizerDigest == f.tokenizerDigest && first.tokensDigest == f.tokensDigest
                say("    bytes identical to \(first.threads) thread(s): \(same ? "yes" : "NO")")
                if !same { throw ValidationError("the bytes differ between \(first.threads) and \(f.threads) threads") }
            } else {
                first = f
            }
        }
        if !noMemory {
            say("import peak memory at two file sizes (streaming: it must not grow with the file):")
            _ = try DatasetBenchmark.run(directory: directory, sizes: [(10_000, 1_200), (100_000, 1_200)], settings: settings, say: say)
        }
    }
}
