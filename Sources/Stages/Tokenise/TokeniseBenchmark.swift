import Foundation
import Hashing
import Models
import Tokenizer

/// `pipe bench tokenise`: the instruction-data path end to end on generated Alpaca rows — the `dataset`
/// import, BPE training on the train split's texts (as `tokenise` trains) and encoding every text of
/// every split — timed phase by phase at each thread count, with the bytes compared across thread counts.
public enum TokeniseBenchmark {
    /// Wall and CPU seconds of one phase.
    public struct Timing: Sendable {
        public var seconds: Double
        public var cpuSeconds: Double
    }

    public struct Figures: Sendable {
        public var threads: Int
        public var importTiming: Timing
        public var trainTiming: Timing
        public var encodeTiming: Timing
        public var trainingTexts: Int
        public var encodedTexts: Int
        public var tokens: Int
        /// SHA-256 of the dataset files, the tokenizer (vocabulary and merges) and the token ids: equal
        /// across thread counts.
        public var datasetDigest: String
        public var tokenizerDigest: String
        public var tokensDigest: String
        public var megabytes: Double
        public var totalSeconds: Double { importTiming.seconds + trainTiming.seconds + encodeTiming.seconds }
    }

    static func timed<T>(_ body: () throws -> T) rethrows -> (T, Timing) {
        let cpuStart = MemoryProbe.cpuSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (result, Timing(seconds: seconds, cpuSeconds: MemoryProbe.cpuSeconds() - cpuStart))
    }

    /// Imports `source` (generated if missing), trains a BPE of `vocabSize` on its train split and encodes
    /// every split, with a pool of `threads` workers.
    public static func run(directory: String, rows: Int, rowBytes: Int, spacedChinese: Bool, vocabSize: Int, minFrequency: Int,
                           threads: Int, settings: DatasetSettings) throws -> Figures {
        let source = directory + "/alpaca-\(rows)x\(rowBytes)" + (spacedChinese ? "" : "-unspaced") + ".jsonl"
        if !FileManager.default.fileExists(atPath: source) {
            try DatasetBenchmark.writeAlpacaRows(path: source, rows: rows, rowBytes: rowBytes, spacedChinese: spacedChinese)
        }
        let output = directory + "/tokenise-dataset-\(threads)", scratch = directory + "/tokenise-scratch-\(threads)"
        for path in [output, scratch] {
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }  // the dataset stays, for a look
        let pool = WorkerPool(threads: threads)

        let (_, importTiming) = try timed {
            try DatasetImport.run(source: source, sourceName: (source as NSString).lastPathComponent, settings: settings,
                                  output: output, scratch: scratch, pool: pool)
        }
        var datasetBytes: [UInt8] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: output).sorted() {
            datasetBytes += Array(name.utf8) + [0] + Array(try Data(contentsOf: URL(fileURLWithPath: output + "/" + name)))
        }

        // Reading the artifact back is part of training, as in the stage.
        let ((bpe, texts), trainTiming) = try timed { () throws -> (BPETokenizer, [String]) in
            let training = try TokeniseSource(directory: output).trainingTexts
            return (TokeniseStage.trainBPE(training, vocabSize: vocabSize, minFrequency: minFrequency, pool: pool), training)
        }
        var allTexts: [String] = []
        let dataset = try DatasetReader(directory: output)
        for split in dataset.splits {
            try dataset.forEachRecord(in: split) { allTexts += $0.texts }
        }
        let tokenizer = PretrainedTokenizer(bpe)
        let (encoded, encodeTiming) = timed { TokeniseStage.encodeAll(allTexts, with: tokenizer, pool: pool) }

        var tokenizerBytes: [UInt8] = []
        for bytes in bpe.tokenBytes { tokenizerBytes += withUnsafeBytes(of: UInt32(bytes.count).littleEndian, Array.init) + bytes }
        for m in bpe.merges {
            for v in [m.left, m.right, m.result] { tokenizerBytes += withUnsafeBytes(of: v.littleEndian, Array.init) }
        }
        var tokenBytes: [UInt8] = []
        for ids in encoded {
            tokenBytes += withUnsafeBytes(of: UInt32(ids.count).littleEndian, Array.init)
            for id in ids { tokenBytes += withUnsafeBytes(of: id.littleEndian, Array.init) }
        }
        return Figures(threads: pool.threads, importTiming: importTiming, trainTiming: trainTiming, encodeTiming: encodeTiming,
                       trainingTexts: texts.count, encodedTexts: allTexts.count, tokens: encoded.reduce(0) { $0 + $1.count },
                       datasetDigest: SHA256.hash(datasetBytes).hex, tokenizerDigest: SHA256.hash(tokenizerBytes).hex,
                       tokensDigest: SHA256.hash(tokenBytes).hex, megabytes: Double(DatasetImport.fileSize(source)) / 1e6)
    }
}
