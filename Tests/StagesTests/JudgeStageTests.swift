import Foundation
import PipeTestSupport
import Testing
@testable import Stages

@Suite("judge stage")
struct JudgeStageTests {
    static let params: [String: StageParamValue] = [
        "ngram_max": .int(3), "bucket_bits": .int(16), "epochs": .int(5), "lr": .float(0.2), "l2": .float(1e-6),
        "holdout_fraction": .float(0.2),
    ]

    @Test func learnsSentimentAndReloads() throws {
        let data = try ReviewCorpus.prepared(count: 600)
        let root = try DirectoryStageContext.temporaryDirectory("judge")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let context = try DirectoryStageContext(kind: "judge", params: Self.params, inputs: ["data": data], outputs: ["model"], root: root)
        try JudgeStage.run(context)
        let model = try context.outputPath("model")
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/metrics.json"))) as! [String: Any]
        let accuracy = try #require(metrics["heldout_accuracy"] as? Double)
        #expect(accuracy >= 0.9)
        #expect((metrics["heldout_records"] as? Int ?? 0) > 20)
        let judge = try Judge(directory: model)
        #expect(judge.positiveProbability(text: "这部电影很精彩，值得推荐") > 0.7)
        #expect(judge.positiveProbability(text: "这部电影太差了，浪费钱") < 0.3)
        // It also generalises to the held-out test split it never saw.
        let test = try LabelledRecordFile.read(split: "test", in: data)
        let correct = test.filter { (judge.positiveProbability(text: $0.text) >= 0.5) == ($0.label == 1) }.count
        #expect(Double(correct) / Double(test.count) >= 0.9)
        #expect(context.series("judge/train_loss").count == 5)
    }

    @Test func deterministicModelBytes() throws {
        let data = try ReviewCorpus.prepared(count: 100)
        func run() throws -> Data? {
            let root = try DirectoryStageContext.temporaryDirectory("judge")
            let context = try DirectoryStageContext(kind: "judge", params: Self.params, inputs: ["data": data], outputs: ["model"], root: root)
            try JudgeStage.run(context)
            return FileManager.default.contents(atPath: try context.outputPath("model") + "/" + Judge.fileName)
        }
        let a = try run(), b = try run()
        #expect(a != nil && a == b)
    }

    @Test func featuresAreStableAcrossProcesses() {
        // FNV-1a is fixed, so a feature index never depends on the process (unlike Swift's Hasher).
        let f = JudgeFeatures(maxN: 3, buckets: 1 << 20)
        let x = f.extract("好")
        #expect(x.indices.count == 6)  // ^, 好, $, ^好, 好$, ^好$
        #expect(x.indices == f.extract("好").indices)
        let norm = x.values.reduce(0) { $0 + $1 * $1 }
        #expect(abs(norm - 1) < 1e-5)
        #expect(x.indices.first == f.extract(" 好 ").indices.first)  // normalised before hashing
    }

    @Test func rejectsAForeignModelFile() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("judge-bad")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/" + Judge.fileName))
        #expect(throws: (any Error).self) { try Judge(directory: dir) }
    }
}
