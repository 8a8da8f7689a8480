import Foundation
import PipeTestSupport
import Testing
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

    static let prepareParams: [String: StageParamValue] = [
        "positive_file": .string("pos.txt"), "negative_file": .string("neg.txt"), "min_chars": .int(4), "max_chars": .int(1000),
        "judge_fraction": .float(0.25), "valid_fraction": .float(0.05), "test_fraction": .float(0.05),
    ]

    /// Runs prepare on a generated corpus; returns the `data` output directory.
    static func prepared(count: Int) throws -> String {
        let source = try writeSource(count: count)
        let root = try DirectoryStageContext.temporaryDirectory("prepare")
        let context = try DirectoryStageContext(kind: "prepare", params: prepareParams, inputs: ["source": source],
                                                outputs: ["data"], root: root)
        try PrepareStage.run(context)
        return try context.outputPath("data")
    }
}

@Suite("prepare stage")
struct PrepareStageTests {
    @Test func normalisation() {
        #expect(TextNormalizer.normalize("  这部电影\u{3000}很好看，\t推荐！\r\n") == "这部电影 很好看， 推荐！")
        #expect(TextNormalizer.normalize("\u{FEFF}zero\u{200B}width") == "zerowidth")
        #expect(TextNormalizer.normalize("e\u{301}") == "\u{E9}")            // NFC composes
        #expect(TextNormalizer.normalize("ＡＢＣ，１２３") == "ＡＢＣ，１２３")    // but keeps full-width forms (no NFKC)
    }

    @Test func writesDeduplicatedSplitsAndCounts() throws {
        let source = try ReviewCorpus.writeSource(count: 300, extraPositive: ["重复的好评很好", "重复的好评很好", "  重复的好评很好 ", "两边都有", "", "短"],
                                                  extraNegative: ["两边都有", "bad\u{FF}"])
        let root = try DirectoryStageContext.temporaryDirectory("prepare")
        defer { try? FileManager.default.removeItem(atPath: root); try? FileManager.default.removeItem(atPath: source) }
        let context = try DirectoryStageContext(kind: "prepare", params: ReviewCorpus.prepareParams, inputs: ["source": source],
                                                outputs: ["data"], root: root)
        try PrepareStage.run(context)
        let out = try context.outputPath("data")
        var all: [LabelledRecord] = []
        var sizes: [String: Int] = [:]
        for split in LabelledRecordFile.splits {
            let records = try LabelledRecordFile.read(split: split, in: out)
            sizes[split] = records.count
            all += records
        }
        let texts = all.map(\.text)
        #expect(Set(texts).count == texts.count)                       // no duplicates across or within splits
        #expect(texts.filter { $0 == "重复的好评很好" }.count == 1)
        #expect(!texts.contains("两边都有"))                             // conflicting labels dropped
        #expect(!texts.contains("短") && !texts.contains(""))
        #expect(sizes["train"]! > sizes["judge"]! && sizes["judge"]! > sizes["valid"]!)
        #expect(all.contains { $0.label == 1 } && all.contains { $0.label == 0 })
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/stats.json"))) as! [String: Any]
        #expect(stats["conflicting_labels"] as? Int == 2)
        #expect(stats["too_short"] as? Int == 1)
        #expect(stats["empty"] as? Int == 1)
        #expect(stats["invalid_utf8"] as? Int == 0)  // "bad\u{FF}" is valid UTF-8 (ÿ); counted as a normal review
        #expect(context.logLines.contains { $0.hasPrefix("prepare: 608 lines") })
    }

    @Test func splitsAreStableWhenDataIsAdded() throws {
        let split = ContentSplit(judgeFraction: 0.25, validFraction: 0.05, testFraction: 0.05)
        let (morePositive, moreNegative) = ReviewCorpus.make(count: 200, seed: 99)
        let files = [("pos.txt", 1), ("neg.txt", 0)]
        let small = try PrepareStage.prepare(source: try ReviewCorpus.writeSource(count: 100), files: files,
                                             minChars: 1, maxChars: 0, split: split).0
        let large = try PrepareStage.prepare(source: try ReviewCorpus.writeSource(count: 100, extraPositive: morePositive,
                                                                                  extraNegative: moreNegative),
                                             files: files, minChars: 1, maxChars: 0, split: split).0
        #expect(large["train"]!.count > small["train"]!.count)
        for name in LabelledRecordFile.splits {
            let bigger = Set(large[name]!.map(\.text))
            #expect(small[name]!.allSatisfy { bigger.contains($0.text) }, "records moved out of \(name)")
        }
    }

    @Test func outputIsDeterministic() throws {
        let a = try ReviewCorpus.prepared(count: 100), b = try ReviewCorpus.prepared(count: 100)
        for file in ["train.jsonl", "valid.jsonl", "test.jsonl", "judge.jsonl", "stats.json"] {
            #expect(FileManager.default.contents(atPath: a + "/" + file) == FileManager.default.contents(atPath: b + "/" + file))
        }
    }

    @Test func missingSourceFileIsAClearError() throws {
        let root = try DirectoryStageContext.temporaryDirectory("prepare")
        let context = try DirectoryStageContext(kind: "prepare", params: ReviewCorpus.prepareParams, inputs: ["source": root + "/nowhere"],
                                                outputs: ["data"], root: root)
        #expect(throws: StageError.self) { try PrepareStage.run(context) }
        do { try PrepareStage.run(context) } catch { #expect("\(error)".contains("fetch-data.sh")) }
    }
}
