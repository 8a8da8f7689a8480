import Foundation

/// `judge`: trains the independent sentiment classifier on the judge split only (never the RM's data),
/// holds out a content-hashed part of it, and writes the model with its held-out accuracy.
public enum JudgeStage: BuiltinStage {
    public static let kind = "judge"
    public static let implementationVersion = 1

    public struct Result: Sendable {
        public var judge: Judge
        public var trainCount: Int, heldOutCount: Int
        public var trainAccuracy: Double, heldOutAccuracy: Double
    }

    public static func run(_ context: StageContext) throws {
        let data = try context.inputPath("data")
        let output = try context.outputPath("model")
        let p = context.params
        let maxN = try p.int("ngram_max"), bucketBits = try p.int("bucket_bits")
        guard (1...5).contains(maxN) else { throw StageError.badParam("ngram_max", "must be 1…5") }
        guard (8...24).contains(bucketBits) else { throw StageError.badParam("bucket_bits", "must be 8…24") }
        let holdout = try p.double("holdout_fraction")
        guard holdout > 0 && holdout < 1 else { throw StageError.badParam("holdout_fraction", "must be in (0, 1)") }
        let trainer = JudgeTrainer(features: JudgeFeatures(maxN: maxN, buckets: 1 << bucketBits), epochs: try p.int("epochs"),
                                   learningRate: try p.float("lr"), l2: try p.float("l2"), seed: context.seed)
        let records = try LabelledRecordFile.read(split: "judge", in: data)
        guard records.count >= 10 else { throw StageError.badInput("data", "the judge split has only \(records.count) records") }
        let result = train(records, trainer: trainer, holdoutFraction: holdout, context: context)
        try result.judge.save(directory: output)
        let metrics = JSONText.object([
            ("heldout_accuracy", JSONText.number(result.heldOutAccuracy)), ("train_accuracy", JSONText.number(result.trainAccuracy)),
            ("heldout_records", String(result.heldOutCount)), ("train_records", String(result.trainCount)),
        ])
        try Data((metrics + "\n").utf8).write(to: URL(fileURLWithPath: output + "/metrics.json"), options: .atomic)
        context.metrics(step: trainer.epochs, [("judge/heldout_accuracy", result.heldOutAccuracy),
                                               ("judge/train_accuracy", result.trainAccuracy)])
        context.log("judge: held-out accuracy \(String(format: "%.4f", result.heldOutAccuracy)) on \(result.heldOutCount) reviews "
            + "(train \(String(format: "%.4f", result.trainAccuracy)) on \(result.trainCount))")
    }

    /// Splits `records` by content hash into train / held-out, trains, and measures both accuracies.
    public static func train(_ records: [LabelledRecord], trainer: JudgeTrainer, holdoutFraction: Double,
                             context: StageContext? = nil) -> Result {
        var fit: [LabelledRecord] = [], heldOut: [LabelledRecord] = []
        for r in records {
            if ContentSplit.unitHash(r.text, salt: "pipe.judge.holdout.v1") < holdoutFraction { heldOut.append(r) } else { fit.append(r) }
        }
        let judge = trainer.train(fit) { epoch, loss in
            context?.progress(phase: "train judge", step: epoch, total: trainer.epochs, message: "loss \(String(format: "%.4f", loss))")
            context?.metrics(step: epoch, [("judge/train_loss", loss)])
        }
        func accuracy(_ rs: [LabelledRecord]) -> Double {
            guard !rs.isEmpty else { return 0 }
            let correct = rs.filter { (judge.positiveProbability(text: $0.text) >= 0.5) == ($0.label == 1) }.count
            return Double(correct) / Double(rs.count)
        }
        return Result(judge: judge, trainCount: fit.count, heldOutCount: heldOut.count,
                      trainAccuracy: accuracy(fit), heldOutAccuracy: accuracy(heldOut))
    }
}
