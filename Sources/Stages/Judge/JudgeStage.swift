import Foundation

/// `judge`: trains the independent sentiment classifier on the judge split only (never the RM's data),
/// holds out a content-hashed part of it, and writes the model with its held-out accuracy.
public enum JudgeStage: BuiltinStage {
    public static let kind = "judge"

    public struct Result: Sendable {
        public var judge: Judge
        public var trainCount: Int, heldOutCount: Int
        public var trainAccuracy: Double, heldOutAccuracy: Double
    }

    /// The stage's params (docs and defaults in stages/judge.yaml), checked.
    struct Settings {
        var trainer: JudgeTrainer
        var holdout: Double
        var cvFolds: Int

        init(_ p: StageParams, seed: UInt64) throws {
            let maxN = try p.int("ngram_max"), bucketBits = try p.int("bucket_bits")
            guard (1...5).contains(maxN) else { throw StageError.badParam("ngram_max", "must be 1…5") }
            guard (8...24).contains(bucketBits) else { throw StageError.badParam("bucket_bits", "must be 8…24") }
            holdout = try p.double("holdout_fraction")
            guard holdout > 0 && holdout < 1 else { throw StageError.badParam("holdout_fraction", "must be in (0, 1)") }
            let nbAlpha = try p.float("nb_alpha")
            guard nbAlpha >= 0 else { throw StageError.badParam("nb_alpha", "must be ≥ 0 (0 turns the naive-Bayes scaling off)") }
            let models = try p.int("models")
            guard models >= 1 else { throw StageError.badParam("models", "must be ≥ 1") }
            let knnK = try p.int("knn_k")
            guard knnK >= 0 else { throw StageError.badParam("knn_k", "must be ≥ 0 (0 turns the nearest-neighbour vote off), got \(knnK)") }
            let knnWeight = try p.float("knn_weight")
            guard knnWeight >= 0 && knnWeight.isFinite else {
                throw StageError.badParam("knn_weight", "must be a number ≥ 0, got \(knnWeight)")
            }
            trainer = JudgeTrainer(features: JudgeFeatures(maxN: maxN, buckets: 1 << bucketBits, negation: try p.bool("negation")),
                                   epochs: try p.int("epochs"), learningRate: try p.float("lr"), l2: try p.float("l2"),
                                   nbAlpha: nbAlpha, models: models, neighbours: knnK, neighbourWeight: knnWeight, seed: seed)
            cvFolds = try p.int("cv_folds")
            guard cvFolds == 0 || (2...20).contains(cvFolds) else {
                throw StageError.badParam("cv_folds", "must be 0 (off) or 2…20, got \(cvFolds)")
            }
        }
    }

    public static func checkParams(_ params: StageParams) throws { _ = try Settings(params, seed: 0) }

    public static func run(_ context: StageContext) throws {
        let data = try context.inputPath("data")
        let output = try context.outputPath("model")
        let settings = try Settings(context.params, seed: context.seed)
        let trainer = settings.trainer, holdout = settings.holdout, cvFolds = settings.cvFolds
        let records = try LabelledRecordFile.read(split: "judge", in: data)
        guard records.count >= 10 else { throw StageError.badInput("data", "the judge split has only \(records.count) records") }
        var cvAccuracy: Double?
        if cvFolds > 0 {
            let fit = holdOut(records, fraction: holdout).fit
            let accuracy = crossValidatedAccuracy(fit, trainer: trainer, folds: cvFolds)
            cvAccuracy = accuracy
            context.log("judge: \(cvFolds)-fold CV accuracy \(String(format: "%.4f", accuracy)) on the \(fit.count) training reviews")
        }
        let result = train(records, trainer: trainer, holdoutFraction: holdout, context: context)
        try result.judge.save(directory: output)
        var fields = [
            ("heldout_accuracy", JSONText.number(result.heldOutAccuracy)), ("train_accuracy", JSONText.number(result.trainAccuracy)),
            ("heldout_records", String(result.heldOutCount)), ("train_records", String(result.trainCount)),
        ]
        if let cvAccuracy { fields.append(("cv_accuracy", JSONText.number(cvAccuracy))) }
        let metrics = JSONText.object(fields)
        try Data((metrics + "\n").utf8).write(to: URL(fileURLWithPath: output + "/metrics.json"), options: .atomic)
        context.metrics(step: trainer.epochs * trainer.models, [("judge/heldout_accuracy", result.heldOutAccuracy),
                                               ("judge/train_accuracy", result.trainAccuracy)])
        context.log("judge: held-out accuracy \(String(format: "%.4f", result.heldOutAccuracy)) on \(result.heldOutCount) reviews "
            + "(train \(String(format: "%.4f", result.trainAccuracy)) on \(result.trainCount))")
    }

    /// The records the stage trains on and the ones it holds out, by content hash.
    public static func holdOut(_ records: [LabelledRecord], fraction: Double) -> (fit: [LabelledRecord], heldOut: [LabelledRecord]) {
        var fit: [LabelledRecord] = [], heldOut: [LabelledRecord] = []
        for r in records {
            if ContentSplit.unitHash(r.text, salt: "pipe.judge.holdout.v1") < fraction { heldOut.append(r) } else { fit.append(r) }
        }
        return (fit, heldOut)
    }

    /// Mean accuracy of `folds`-fold cross-validation (folds by content hash) — for choosing
    /// hyperparameters on the training part without touching the held-out part.
    public static func crossValidatedAccuracy(_ records: [LabelledRecord], trainer: JudgeTrainer, folds: Int = 5) -> Double {
        let fold = records.map { Int(ContentSplit.unitHash($0.text, salt: "pipe.judge.folds.v1") * Double(folds)) }
        var total = 0.0
        for k in 0..<folds {
            let judge = trainer.train(zip(records, fold).filter { $0.1 != k }.map(\.0))
            total += accuracy(judge, zip(records, fold).filter { $0.1 == k }.map(\.0))
        }
        return total / Double(folds)
    }

    public static func accuracy(_ judge: Judge, _ records: [LabelledRecord]) -> Double {
        guard !records.isEmpty else { return 0 }
        let correct = records.filter { (judge.positiveProbability(text: $0.text) >= 0.5) == ($0.label == 1) }.count
        return Double(correct) / Double(records.count)
    }

    /// Splits `records` by content hash into train / held-out, trains, and measures both accuracies.
    public static func train(_ records: [LabelledRecord], trainer: JudgeTrainer, holdoutFraction: Double,
                             context: StageContext? = nil) -> Result {
        let (fit, heldOut) = holdOut(records, fraction: holdoutFraction)
        let judge = trainer.train(fit) { epoch, loss in
            context?.progress(phase: "train judge", step: epoch, total: trainer.epochs * trainer.models, message: "loss \(String(format: "%.4f", loss))")
            context?.metrics(step: epoch, [("judge/train_loss", loss)])
        }
        return Result(judge: judge, trainCount: fit.count, heldOutCount: heldOut.count,
                      trainAccuracy: accuracy(judge, fit), heldOutAccuracy: accuracy(judge, heldOut))
    }
}
