import Foundation
import PipeTestSupport
@testable import Stages

/// A small generated labelled corpus: Chinese review sentences whose sentiment words decide the label.
enum ReviewCorpus {
    static let subjects = ["这本书", "这部电影", "这个手机", "酒店的房间", "这件衣服", "快递", "客服", "这款耳机", "餐厅的菜", "这台电脑"]
    static let positive = ["很好", "非常满意", "质量不错", "值得推荐", "物超所值", "超级喜欢", "很精彩", "服务周到"]
    static let negative = ["太差了", "很失望", "质量很差", "不推荐", "浪费钱", "非常糟糕", "很无聊", "态度恶劣"]
    static let fillers = ["，", "，总的来说", "，说实话", "。而且", "！", "，感觉"]

    /// `count` reviews per label, deterministic in `seed`.
    static func make(count: Int, seed: UInt64 = 7) -> (pos: [String], neg: [String]) {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        func review(_ words: [String]) -> String {
            var s = subjects[next(subjects.count)] + words[next(words.count)]
            for _ in 0..<(1 + next(3)) { s += fillers[next(fillers.count)] + words[next(words.count)] }
            return s + "。" + String(next(1000))
        }
        return ((0..<count).map { _ in review(positive) }, (0..<count).map { _ in review(negative) })
    }

    /// Writes pos.txt / neg.txt into a fresh directory and returns it.
    static func writeSource(count: Int, extraPositive: [String] = [], extraNegative: [String] = []) throws -> String {
        let dir = try DirectoryStageContext.temporaryDirectory("reviews")
        let (pos, neg) = make(count: count)
        try ((pos + extraPositive).joined(separator: "\n") + "\n").write(toFile: dir + "/pos.txt", atomically: true, encoding: .utf8)
        try ((neg + extraNegative).joined(separator: "\n") + "\n").write(toFile: dir + "/neg.txt", atomically: true, encoding: .utf8)
        return dir
    }

    /// The dataset stage's params that give the labelled splits the judge and tokenise tests read.
    static let datasetParams: [String: StageParamValue] = [
        "kind": .string("labelled"), "extra_splits": .list([.string("judge:0.25")]), "min_chars": .int(4), "max_chars": .int(1000),
    ]

    /// Imports a generated corpus with the dataset stage; returns the `data` output directory.
    static func prepared(count: Int) throws -> String {
        let source = try writeSource(count: count)
        let root = try DirectoryStageContext.temporaryDirectory("labelled")
        let context = try DirectoryStageContext(kind: "dataset", params: datasetParams, inputs: ["source": source],
                                                outputs: ["data"], root: root)
        try DatasetStage.run(context)
        return try context.outputPath("data")
    }
}
