import Foundation
import PipeTestSupport
import Testing
@testable import Stages

@Suite("judge stage")
struct JudgeStageTests {
    static let params: [String: StageParamValue] = [
        "ngram_max": .int(4), "bucket_bits": .int(16), "negation": .bool(true), "nb_alpha": .float(1), "models": .int(2),
        "epochs": .int(5), "lr": .float(0.2), "l2": .float(1e-6), "holdout_fraction": .float(0.2),
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
        #expect(context.series("judge/train_loss").count == 10)  // 5 epochs × 2 ensemble models
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
        let x = f.indices("好")
        #expect(x.count == 6)  // ^, 好, $, ^好, 好$, ^好$
        #expect(x == f.indices("好"))
        #expect(x == x.sorted() && Set(x).count == x.count)
        #expect(x == f.indices(" 好 "))  // normalised before hashing
        #expect(f.indices("好好好") == f.indices("好好好"))
        #expect(f.indices("好好好").count == Set(f.indices("好好好")).count)  // presence, not counts
    }

    @Test func negationMarksTheFollowingCharacters() {
        let plain = JudgeFeatures(maxN: 2, buckets: 1 << 20), marked = JudgeFeatures(maxN: 2, buckets: 1 << 20, negation: true)
        #expect(plain.indices("很好") == marked.indices("很好"))  // no negation, no extra features
        let extra = Set(marked.indices("不好")).subtracting(plain.indices("不好"))
        #expect(extra.count == 3)  // negated 好, 好$, $ (the three characters after 不, 1- and 2-grams)
        // The negated 好 is shared by 不好 and 没好, and differs from the plain 好.
        #expect(!extra.isDisjoint(with: Set(marked.indices("没好"))))
        #expect(extra.isDisjoint(with: Set(plain.indices("好"))))
    }

    @Test func naiveBayesRatiosPointTheRightWay() {
        let f = JudgeFeatures(maxN: 1, buckets: 1 << 16)
        let trainer = JudgeTrainer(features: f, epochs: 1, learningRate: 0.2, l2: 0, seed: 1)
        let texts = ["好", "好", "差", "中"], labels = [1, 1, 0, 1]
        let ratio = trainer.nbRatio(texts.map { f.indices($0) }, labels: labels)
        let good = Set(f.indices("好")).subtracting(f.indices("差")).first!, bad = Set(f.indices("差")).subtracting(f.indices("好")).first!
        #expect(ratio[Int(good)] > 0 && ratio[Int(bad)] < 0)
        var plain = trainer
        plain.nbAlpha = 0
        #expect(plain.nbRatio(texts.map { f.indices($0) }, labels: labels).allSatisfy { $0 == 1 })
    }

    @Test func ensembleIsDeterministicAndDependsOnTheSeed() throws {
        let data = try ReviewCorpus.prepared(count: 100)
        let records = try LabelledRecordFile.read(split: "judge", in: data)
        func trained(seed: UInt64) -> Judge {
            JudgeTrainer(features: JudgeFeatures(maxN: 3, buckets: 1 << 12, negation: true), epochs: 2, learningRate: 0.2, l2: 1e-6,
                         models: 3, seed: seed).train(records)
        }
        #expect(trained(seed: 7).weights == trained(seed: 7).weights)
        #expect(trained(seed: 7).weights != trained(seed: 8).weights)
    }

    @Test func rejectsAForeignModelFile() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("judge-bad")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/" + Judge.fileName))
        #expect(throws: (any Error).self) { try Judge(directory: dir) }
    }
}
