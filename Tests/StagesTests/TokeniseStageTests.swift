import Foundation
import Models
import PipeTestSupport
import Testing
import Tokenizer
@testable import Stages

@Suite("tokenise stage")
struct TokeniseStageTests {
    static func run(data: String, vocab: Int = 400, threads: Int = 1) throws -> DirectoryStageContext {
        let root = try DirectoryStageContext.temporaryDirectory("tokenise")
        let context = try DirectoryStageContext(kind: "tokenise", params: ["vocab_size": .int(Int64(vocab)), "min_frequency": .int(2)],
                                                inputs: ["data": data], outputs: ["tokenizer", "tokens"], root: root, threads: threads)
        try TokeniseStage.run(context)
        return context
    }

    @Test func encodesEverySplitWithTheTrainedTokenizer() throws {
        let data = try ReviewCorpus.prepared(count: 200)
        let context = try Self.run(data: data)
        let tokenizer = try BPETokenizer(contentsOf: try context.outputPath("tokenizer"))
        #expect(tokenizer.vocabSize <= 400 && tokenizer.vocabSize > 258)
        #expect(FileManager.default.fileExists(atPath: try context.outputPath("tokenizer") + "/tokenizer_config.json"))
        for split in LabelledRecordFile.splits {
            let records = try LabelledRecordFile.read(split: split, in: data)
            let file = try TokenFile.read(split: split, in: try context.outputPath("tokens"))
            #expect(file.count == records.count)
            #expect(file.vocabSize == tokenizer.vocabSize)
            for (i, r) in records.enumerated() {
                #expect(tokenizer.decode(file.record(i)) == r.text)
                #expect(Int(file.labels[i]) == r.label)
            }
        }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try context.outputPath("tokens") + "/tokens.json"))) as! [String: Any]
        #expect(manifest["eos_id"] as? Int == 256 && manifest["pad_id"] as? Int == 257)
    }

    /// Word counting and encoding run in fixed shards on the worker pool: the same tokenizer and the same
    /// ids at any thread count (small shards here, so several threads get work).
    @Test func trainingAndEncodingGiveTheSameBytesForAnyThreadCount() throws {
        let data = try ReviewCorpus.prepared(count: 300)
        let texts = try LabelledRecordFile.read(split: "train", in: data).map(\.text) + ["", "长长的没有标点的中文句子一直写下去", "it's   done\n"]
        var outcomes: [(BPETokenizer, [[Int32]])] = []
        for threads in [1, 2, 3] {
            let pool = WorkerPool(threads: threads)
            let words = TokeniseStage.countWords(texts, pool: pool, textsPerShard: 7)
            let bpe = BPETrainer(vocabSize: 500, minFrequency: 2).train(words: words)
            outcomes.append((bpe, TokeniseStage.encodeAll(texts, with: PretrainedTokenizer(bpe), pool: pool, textsPerShard: 5)))
        }
        let serial = BPETrainer(vocabSize: 500, minFrequency: 2).train(texts)
        #expect(serial.merges.count > 100)
        for (bpe, ids) in outcomes {
            #expect(bpe == serial)
            #expect(ids == texts.map { serial.encode($0, allowSpecial: false) })
        }
        // The stage's files too, with its own thread count.
        let one = try Self.run(data: data, threads: 1), two = try Self.run(data: data, threads: 2)
        for (output, file) in [("tokenizer", "tokenizer.json"), ("tokens", "train.tok"), ("tokens", "tokens.json")] {
            #expect(FileManager.default.contents(atPath: try one.outputPath(output) + "/" + file)
                == FileManager.default.contents(atPath: try two.outputPath(output) + "/" + file))
        }
    }

    @Test func deterministicOutputs() throws {
        let data = try ReviewCorpus.prepared(count: 80)
        let a = try Self.run(data: data), b = try Self.run(data: data)
        for (output, file) in [("tokenizer", "tokenizer.json"), ("tokens", "train.tok"), ("tokens", "judge.tok"), ("tokens", "tokens.json")] {
            #expect(FileManager.default.contents(atPath: try a.outputPath(output) + "/" + file)
                == FileManager.default.contents(atPath: try b.outputPath(output) + "/" + file))
        }
    }

    @Test func tokenFileRoundTripAndValidation() throws {
        let small = TokenFile(vocabSize: 300, records: [[1, 2, 3], [], [299]], labels: [1, 0, TokenFile.noLabel])
        let bytes = small.serialized()
        #expect(try TokenFile(bytes: bytes) == small)
        #expect(Array(try TokenFile(bytes: bytes).record(2)) == [299])
        let wide = TokenFile(vocabSize: 70_000, records: [[69_999, 0]], labels: [1])
        #expect(try TokenFile(bytes: wide.serialized()) == wide)
        #expect(throws: StageError.self) { try TokenFile(bytes: Array(bytes.dropLast())) }
        var badId = bytes
        badId[badId.count - 2] = 0xFF; badId[badId.count - 1] = 0xFF   // last token → 65535 ≥ vocab 300
        #expect(throws: StageError.self) { try TokenFile(bytes: badId) }
        var badMagic = bytes
        badMagic[0] = 0
        #expect(throws: StageError.self) { try TokenFile(bytes: badMagic) }
    }
}
