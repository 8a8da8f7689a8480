import Foundation

/// `pipe bench dataset`: imports generated Alpaca-shaped JSONL of several sizes and reports the time
/// and the peak resident memory of each import, to show that memory stays flat as the file grows.
public enum DatasetBenchmark {
    public struct Figures: Sendable {
        public var rows: Int
        public var megabytes: Double
        public var seconds: Double
        /// Peak resident set during the import (VmHWM after resetting it), MiB; nil off Linux.
        public var peakMiB: Double?
        /// Resident set just before the import, MiB.
        public var baselineMiB: Double?
        public var kept: Int
        /// CPU seconds (user + system) of the import: the figure that does not depend on the machine's load.
        public var cpuSeconds: Double
    }

    /// Writes `rows` Alpaca rows of about `rowBytes` bytes each (mixed English and Chinese text,
    /// deterministic in `seed`), streaming, so the generator itself needs little memory. With
    /// `spacedChinese` false, Chinese words that follow each other are written without a space, as
    /// Chinese is: each run is then one long pre-tokenizer piece (the hard case for BPE training).
    public static func writeAlpacaRows(path: String, rows: Int, rowBytes: Int, seed: UInt64 = 1, spacedChinese: Bool = true) throws {
        let writer = try BufferedFileWriter(path: path)
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        let words = ["the", "model", "review", "answer", "quickly", "explain", "data", "pipeline", "这本书", "很好看",
                     "质量不错", "推荐", "number", "list", "café", "naïve", "step", "because", "however", "result"]
        func isChinese(_ word: String) -> Bool { word.unicodeScalars.first.map { $0.value >= 0x4E00 } ?? false }
        func text(_ chars: Int) -> String {
            var s = ""
            var previous = ""
            while s.utf8.count < chars {
                let word = words[next(words.count)]
                if !spacedChinese && isChinese(word) && isChinese(previous) && s.last == " " { s.removeLast() }
                s += word
                s += next(12) == 0 ? "\n" : " "
                previous = word
            }
            return s
        }
        for i in 0..<rows {
            let instruction = "Task \(i): " + text(rowBytes / 8)
            let input = next(3) == 0 ? "" : text(rowBytes / 4)
            let output = text(rowBytes / 2)
            try writer.write(JSONText.object([("instruction", JSONText.quoted(instruction)), ("input", JSONText.quoted(input)),
                                              ("output", JSONText.quoted(output))]) + "\n")
        }
        try writer.close()
    }

    /// Imports a generated file of each size in `sizes` (rows, bytes per row) inside `directory`.
    public static func run(directory: String, sizes: [(rows: Int, rowBytes: Int)], settings: DatasetSettings,
                           say: (String) -> Void) throws -> [Figures] {
        var figures: [Figures] = []
        for (rows, rowBytes) in sizes {
            let source = directory + "/alpaca-\(rows)x\(rowBytes).jsonl"
            if !FileManager.default.fileExists(atPath: source) {
                try writeAlpacaRows(path: source, rows: rows, rowBytes: rowBytes)
            }
            let output = directory + "/out-\(rows)x\(rowBytes)", scratch = directory + "/scratch-\(rows)x\(rowBytes)"
            for path in [output, scratch] {
                try? FileManager.default.removeItem(atPath: path)
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            }
            let megabytes = Double(DatasetImport.fileSize(source)) / 1e6
            let baseline = MemoryProbe.residentMiB()
            MemoryProbe.resetPeak()
            let cpuStart = MemoryProbe.cpuSeconds()
            let start = DispatchTime.now().uptimeNanoseconds
            let stats = try DatasetImport.run(source: source, sourceName: (source as NSString).lastPathComponent,
                                              settings: settings, output: output, scratch: scratch)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let cpu = MemoryProbe.cpuSeconds() - cpuStart
            let figure = Figures(rows: rows, megabytes: megabytes, seconds: seconds, peakMiB: MemoryProbe.peakMiB(),
                                 baselineMiB: baseline, kept: stats.kept, cpuSeconds: cpu)
            say(String(format: "  %8d rows  %7.1f MB  %7.2f s wall  %7.2f s CPU  %8.0f rows/CPU-s  peak RSS %@ (before: %@)  kept %d",
                       rows, megabytes, seconds, cpu, Double(rows) / cpu,
                       figure.peakMiB.map { String(format: "%.1f MiB", $0) } ?? "n/a",
                       figure.baselineMiB.map { String(format: "%.1f MiB", $0) } ?? "n/a", stats.kept))
            figures.append(figure)
            try? FileManager.default.removeItem(atPath: output)
            try? FileManager.default.removeItem(atPath: scratch)
        }
        return figures
    }
}

/// Resident memory of this process from /proc (Linux); nil elsewhere.
enum MemoryProbe {
    /// Resets the peak (VmHWM) to the current resident set (`clear_refs` 5, Linux ≥ 4.0).
    static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    static func peakMiB() -> Double? { status("VmHWM") }

    /// User + system CPU seconds of this process so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(0 /* RUSAGE_SELF */, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
    static func residentMiB() -> Double? { status("VmRSS") }

    private static func status(_ field: String) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let kib = line.split(separator: " ").compactMap { Double($0) }.first
            return kib.map { $0 / 1024 }
        }
        return nil
    }
}
