import Foundation
import PipeTestSupport
import Tensor
import Testing
@testable import Stages

@Suite("judge nearest-neighbour vote and stage params")
struct JudgeNeighboursTests {
    static let features = JudgeFeatures(maxN: 3, buckets: 1 << 16, negation: true)

    static func neighbours(k: Int, _ texts: [String], _ labels: [Int]) -> JudgeNeighbours {
        JudgeNeighbours(k: k, present: texts.map { features.indices($0) }, labels: labels, buckets: features.buckets)
    }

    @Test func voteFollowsTheMostSimilarReviews() {
        let memory = Self.neighbours(k: 1, ["房间很干净，服务很好", "房间很脏，服务很差", "这本书写得很精彩"], [1, 0, 1])
        #expect(memory.vote(Self.features.indices("房间很干净，服务很好")) == 1)   // its own copy, label 1
        #expect(memory.vote(Self.features.indices("房间很脏，服务很差！")) == -1)  // nearest is the negative one
        #expect(memory.vote([]) == 0)                                               // shares no bucket: no vote
        // With every review voting, the vote is the similarity-weighted label mean, strictly inside (-1, 1).
        let all = Self.neighbours(k: 3, ["房间很干净，服务很好", "房间很脏，服务很差", "这本书写得很精彩"], [1, 0, 1])
        let v = all.vote(Self.features.indices("房间很脏，服务很差"))
        #expect(v > -1 && v < 0)
    }

    @Test func topKIsOrderedAndBreaksTiesByIndex() {
        let score: [Float] = [0.5, 0.9, 0.5, 0.1, 0.9, 0.7]
        #expect(JudgeNeighbours.top(3, of: [0, 1, 2, 3, 4, 5], by: score) == [1, 4, 5])
        #expect(JudgeNeighbours.top(4, of: [5, 4, 3, 2, 1, 0], by: score) == [1, 4, 5, 0])  // 0 before 2 at equal score
        #expect(JudgeNeighbours.top(10, of: [3, 1], by: score) == [1, 3])
    }

    @Test func neighboursSurviveSaveAndLoad() throws {
        let data = try ReviewCorpus.prepared(count: 200)
        let records = try LabelledRecordFile.read(split: "judge", in: data)
        let trainer = JudgeTrainer(features: Self.features, epochs: 2, learningRate: 0.2, l2: 1e-6, nbAlpha: 0, models: 2,
                                   neighbours: 5, neighbourWeight: 2, seed: 3)
        let judge = trainer.train(records)
        #expect(judge.neighbours?.count == records.count)
        let dir = try DirectoryStageContext.temporaryDirectory("judge-knn")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try judge.save(directory: dir)
        let loaded = try Judge(directory: dir)
        #expect(loaded.neighbours?.k == 5 && loaded.neighbourWeight == 2)
        let texts = ["这部电影很精彩，值得推荐", "快递太差了，很失望", "酒店的房间"]
        #expect(loaded.positiveProbabilities(texts) == judge.positiveProbabilities(texts))
        // The vote moves the probability: the same model without it scores differently.
        let linear = Judge(features: judge.features, ratio: judge.ratio, weights: judge.weights, bias: judge.bias)
        #expect(linear.positiveProbabilities(texts) != judge.positiveProbabilities(texts))
    }

    @Test func rejectsCorruptNeighbourTensors() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("judge-knn-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let metadata = ["format": "pipe-judge", "features": Judge.featureKind, "hash": "fnv1a64", "max_n": "1", "buckets": "16",
                        "negation": "0", "knn_k": "3", "knn_weight": "1"]
        func write(bucket: Int32) throws {
            let zeros = [Float](repeating: 0, count: 16), ones = [Float](repeating: 1, count: 16)
            var tensors: [SafetensorsTensor] = []
            tensors.append(SafetensorsTensor(name: "weight", shape: [16], floats: zeros))
            tensors.append(SafetensorsTensor(name: "ratio", shape: [16], floats: ones))
            tensors.append(SafetensorsTensor(name: "bias", shape: [1], floats: [Float(0)]))
            tensors.append(SafetensorsTensor(name: "knn_offsets", shape: [2], int32s: [Int32(0), 2]))
            tensors.append(SafetensorsTensor(name: "knn_indices", shape: [2], int32s: [Int32(1), bucket]))
            tensors.append(SafetensorsTensor(name: "knn_labels", dtype: .u8, shape: [1], bytes: [UInt8(1)]))
            try Safetensors.write(tensors, metadata: metadata, to: dir + "/" + Judge.fileName)
        }
        try write(bucket: 9)
        #expect(try Judge(directory: dir).neighbours?.count == 1)
        try write(bucket: 99)  // ≥ 16 buckets
        #expect(throws: (any Error).self) { try Judge(directory: dir) }
    }

    @Test func badParamsAreRejectedByName() throws {
        let data = try ReviewCorpus.prepared(count: 60)
        for (name, value) in [("knn_k", StageParamValue.int(-1)), ("knn_weight", .float(-0.5)), ("cv_folds", .int(1)),
                              ("cv_folds", .int(21))] {
            var params = JudgeStageTests.params
            params[name] = value
            let root = try DirectoryStageContext.temporaryDirectory("judge-params")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let context = try DirectoryStageContext(kind: "judge", params: params, inputs: ["data": data], outputs: ["model"], root: root)
            do {
                try JudgeStage.run(context)
                Issue.record("\(name) = \(value) was accepted")
            } catch {
                #expect(String(describing: error).contains(name), "error for \(name) does not name it: \(error)")
            }
        }
    }

    @Test func crossValidationIsReportedWithoutTouchingTheHeldOutPart() throws {
        let data = try ReviewCorpus.prepared(count: 300)
        var params = JudgeStageTests.params
        params["cv_folds"] = .int(3)
        params["knn_k"] = .int(10)
        params["knn_weight"] = .float(1)
        let root = try DirectoryStageContext.temporaryDirectory("judge-cv")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let context = try DirectoryStageContext(kind: "judge", params: params, inputs: ["data": data], outputs: ["model"], root: root)
        try JudgeStage.run(context)
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try context.outputPath("model")
            + "/metrics.json"))) as! [String: Any]
        let cv = try #require(metrics["cv_accuracy"] as? Double)
        #expect(cv >= 0.9)  // the synthetic corpus is separable
        #expect(context.logLines.contains { $0.contains("3-fold CV accuracy") && $0.contains("\(metrics["train_records"]!) training reviews") })
        // The CV score is that of the fit part alone: recomputing it on the same records gives the same number.
        let records = try LabelledRecordFile.read(split: "judge", in: data)
        let fit = JudgeStage.holdOut(records, fraction: 0.2).fit
        let trainer = JudgeTrainer(features: JudgeFeatures(maxN: 4, buckets: 1 << 16, negation: true), epochs: 5, learningRate: 0.2,
                                   l2: 1e-6, nbAlpha: 1, models: 2, neighbours: 10, neighbourWeight: 1, seed: context.seed)
        #expect(JudgeStage.crossValidatedAccuracy(fit, trainer: trainer, folds: 3) == cv)
    }
}
