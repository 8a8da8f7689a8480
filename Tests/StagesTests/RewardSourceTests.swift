import Foundation
import JSONQuoting
import Models
import PipeTestSupport
import Tensor
import Testing
@testable import Stages

/// The reward interface without child processes: the JSON of requests and answers, the reward model
/// behind it (bit for bit what the trainers computed before), the rules, the weighted sum with its
/// per-source metrics, the first-batch reproducibility check, and the reward params.
@Suite struct RewardSourceTests {
    // MARK: JSON

    @Test func requestJSONIsCompactOrderedAndEscaped() throws {
        let request = RewardRequest(prompts: ["这部电影很", "a\"b"], completions: ["好\n看", ""],
                                    columns: ["z": [.number(1), .null], "answer": [.string("好"), .array([.bool(true)])]])
        #expect(request.pipeJSON.text == #"{"prompts":["这部电影很","a\"b"],"completions":["好\n看",""],"columns":{"answer":["好",[true]],"z":[1,null]}}"#)
        #expect(!request.pipeJSON.text.contains("\n"), "one request per line")
        #expect(try RewardJSON.parse(request.pipeJSON.text) == request.pipeJSON)
    }

    @Test func answersParseWithPythonsNonFiniteSpellingsAndBadOnesFailClearly() throws {
        #expect(try RewardJSON.parse(#" {"rewards": [1, -2.5e-1, NaN, -Infinity], "extra": {"a": "\u00e9\ud83d\ude00"}} "#)
                == .object([("rewards", .array([.number(1), .number(-0.25), .number(.nan), .number(-.infinity)])),
                            ("extra", .object([("a", .string("é😀"))]))]))
        for bad in ["", "{", "{\"rewards\": [1,]}", "[01]", "{\"a\" 1}", "{\"rewards\": [1]} x", "\"\\q\"", "-Inf", "Nan", "{\"a\":1,\"a\":2}"] {
            #expect(throws: RewardJSONError.self, "\(bad)") { try RewardJSON.parse(bad) }
        }
        // The one JSON reader is strict unless asked: datasets and reports refuse the non-finite spellings.
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array("[NaN]".utf8)) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array("-Infinity".utf8)) }
        #expect(try RewardResponse.rewards(from: #"{"rewards": [0.5, 2]}"#, rows: 2, source: "s") == [0.5, 2])
        func failure(_ text: String, rows: Int = 2) -> String {
            do { _ = try RewardResponse.rewards(from: text, rows: rows, source: "s"); return "no error" } catch { return "\(error)" }
        }
        #expect(failure("{\"rewards\": [1, 2").contains("malformed JSON"))
        #expect(failure("{\"scores\": [1, 2]}").contains("without a \"rewards\" list"))
        #expect(failure("{\"rewards\": [1]}").contains("gave 1 rewards for 2 completions"))
        #expect(failure("{\"rewards\": [1, NaN]}").contains("non-finite reward (nan) for completion 1"))
        #expect(failure("{\"rewards\": [null, 1]}").contains("non-finite reward"))
        #expect(failure("{\"rewards\": [1, 1e39]}").contains("non-finite reward (inf)"), "beyond Float's range")
        #expect(failure("{\"rewards\": [1, \"2\"]}").contains("rewards[1] is '\"2\"', not a number"))
    }

    // MARK: The reward model

    /// The model source gives the bytes the trainers computed by calling the reward model directly, from
    /// an assembled batch, from per-row tokens, and through the scorer.
    @Test func modelSourceIsTheRewardModelBitForBit() throws {
        let config = GPTConfig(vocabSize: 23, maxPositions: 16, channels: 8, layers: 1, heads: 2, valueHead: false, rewardHead: true)
        let rm = try GPTModel(config: config, seed: 3)
        let queries: [[Int32]] = [[0, 5], [0], [0, 7, 8], [0, 1]]
        let responses: [Int32] = [3, 4, 5, 0, 6, 7, 8, 9, 1, 2, 0, 11, 12, 13, 14, 15]
        var mask = [Float](repeating: 1, count: 16)
        (mask, _) = PPOMath.truncationMask(responses: responses, eos: 0, length: 4)
        let qr = QueryResponseBatch(queries: queries, responses: responses, responseMask: mask, responseLength: 4, pad: 0)
        rm.forward(qr.batch, computeLogits: false)
        let direct = Array(rm.rewards)
        let rows = (0..<4).map { row in (0..<4).filter { mask[row * 4 + $0] > 0 }.map { responses[row * 4 + $0] } }

        let scorer = try RewardScorer.model(rm, pad: 0)
        let viaScorer = try scorer.score(queries: queries, responses: rows, assembled: qr)
        #expect(viaScorer.rewards.map(\.bitPattern) == direct.map(\.bitPattern))
        #expect(viaScorer.metrics.isEmpty, "one deterministic source: no extra metrics")
        let source = try RewardModelSource(model: rm, pad: 0)
        let packed = try source.score(queries: queries, responses: rows)
        #expect(packed.count == 4 && packed.allSatisfy(\.isFinite))
        // Packing the EOS-cut rows is what GRPO always did; it reads the same last real token.
        for i in 0..<4 { #expect(abs(packed[i] - direct[i]) < 1e-5, "row \(i): \(packed[i]) vs \(direct[i])") }
        // Text alone needs a tokenizer.
        #expect(throws: StageError.self) { try source.score(prompts: ["a"], completions: ["b"]) }
        var noHead = config
        noHead.rewardHead = false
        #expect(throws: StageError.self) { try RewardModelSource(model: try GPTModel(config: noHead, seed: 1), pad: 0) }
    }

    // MARK: Rules

    func rule(_ r: RuleRewardSource.Rule, pattern: String = "", normalize: Bool = true, target: Int = 4, ngram: Int = 2,
              _ completions: [String], references: [String]? = nil) throws -> [Float] {
        let source = try RuleRewardSource(rule: r, column: "answer", pattern: pattern, normalize: normalize, targetLength: target, ngram: ngram)
        let columns = references.map { ["answer": $0.map { RewardJSON.string($0) }] } ?? [:]
        return try source.score(prompts: completions.map { _ in "q" }, completions: completions, columns: columns)
    }

    @Test func matchRules() throws {
        #expect(try rule(.exactMatch, ["  Paris. ", "paris is", "巴黎！", "Lyon"], references: ["paris", "paris", "巴黎", "Paris"]) == [1, 0, 1, 0])
        #expect(try rule(.exactMatch, normalize: false, ["Paris", "paris"], references: ["Paris", "Paris"]) == [1, 0])
        #expect(try rule(.contains, ["It is Paris, France", "", "北京是首都", "x"], references: ["paris", "paris", "首都", ""]) == [1, 0, 1, 0])
        #expect(try rule(.regex, pattern: #"^\d+$"#, ["42", "4 2", "x42"]) == [1, 0, 0])
        #expect(try rule(.regex, ["答案是 7", "答案是 8"], references: [#"答案是\s*7"#, #"7"#]) == [1, 0])
        #expect(throws: StageError.self) { try rule(.regex, pattern: "(", ["a"]) }
        #expect(throws: StageError.self) { try rule(.regex, ["a"], references: ["("]) }
        // A rule reading a column the prompts lack names it and what there is.
        do {
            _ = try rule(.f1, ["a"])
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("reads the column 'answer'") && "\(error)".contains("they carry no columns"), "\(error)")
        }
    }

    @Test func overlapRulesAreWordLevelForLatinAndCharacterLevelForCJK() throws {
        #expect(TextOverlap.tokens("The cat, 猫咪 sat") == ["The", "cat", ",", "猫", "咪", "sat"])
        // F1: "the cat sat" vs "the cat sat down": P 1, R 3/4 → 6/7.
        let f1 = try rule(.f1, ["The cat sat", "the cat sat down", "", "dog"], references: ["the cat sat down", "the cat sat down", "x", "cat"])
        #expect(abs(f1[0] - 6.0 / 7.0) < 1e-6 && f1[1] == 1 && f1[2] == 0 && f1[3] == 0, "\(f1)")
        // Multiset overlap: a repeated token counts as often as the reference has it.
        #expect(abs(TextOverlap.f1(["a", "a", "a"], ["a", "b"]) - 0.4) < 1e-12)
        // ROUGE-L: LCS("这部电影很好看", "这部片子很好看") = 这部很好看 (5 of 7 each) → 5/7.
        let rouge = try rule(.rougeL, ["这部电影很好看", "看好很", "A B C D"], references: ["这部片子很好看", "很好看", "a c"])
        #expect(abs(rouge[0] - 5.0 / 7.0) < 1e-6, "\(rouge)")
        #expect(abs(rouge[1] - 1.0 / 3.0) < 1e-6, "one in-order match of three: \(rouge)")
        #expect(abs(rouge[2] - 2 * 0.5 * 1 / 1.5) < 1e-6, "P 2/4, R 2/2: \(rouge)")
        #expect(TextOverlap.longestCommonSubsequence(["a", "b", "c", "b", "d", "a", "b"], ["b", "d", "c", "a", "b", "a"]) == 4)
    }

    @Test func lengthAndRepetitionPenalties() throws {
        #expect(try rule(.lengthPenalty, target: 4, ["一二三四", "一二", "one two three four five six", ""]) == [0, -0.5, -0.5, -1])
        // Bigrams of "好好好好好": 4, one distinct → −3/4; all-distinct text → 0; fewer tokens than n → 0.
        #expect(try rule(.repetitionPenalty, ngram: 2, ["好好好好好", "这部电影", "好"]) == [-0.75, 0, 0])
        #expect(try rule(.repetitionPenalty, ngram: 1, ["a a b b"]) == [-0.5])
        #expect(throws: StageError.self) { try RuleRewardSource(rule: .lengthPenalty, column: "x", targetLength: 0) }
    }

    // MARK: Weighted sum, metrics, reproducibility check

    /// A scripted source: returns `values`, or a fresh value per call when `drift` is set.
    final class Scripted: RewardSource {
        let name: String
        var values: [Float]
        var drift: Float = 0
        var calls = 0
        var closed = false
        init(_ name: String, _ values: [Float]) { self.name = name; self.values = values }
        func score(_ request: RewardRequest) throws -> [Float] {
            calls += 1
            return values.map { $0 + drift * Float(calls) }
        }
        func close() { closed = true }
    }

    @Test func weightedSumLogsEachSourceAndChecksTheFirstBatchTwice() throws {
        let a = Scripted("command", [1, 2, 3, 4]), b = try RuleRewardSource(rule: .lengthPenalty, column: "x", targetLength: 2)
        let sources = try WeightedRewardSource([.init(weight: 0.5, source: a), .init(weight: 2, source: b)])
        var log: [String] = []
        let scorer = RewardScorer(sources: sources, decode: { $0.map { String($0) }.joined(separator: " ") }, log: { log.append($0) })
        // Completions "1 1" (2 tokens: penalty 0) and "1" (−0.5), "1 1 1 1" (−1), "" (−1).
        let first = try scorer.score(queries: [[0], [0], [0], [0]], responses: [[1, 1], [1], [1, 1, 1, 1], []])
        #expect(first.rewards == [0.5, 0, -0.5, 0])
        #expect(a.calls == 2, "asked twice on the first batch")
        let names = first.metrics.map(\.0)
        #expect(names == ["rewards/command/nondeterministic", "rewards/command/mean", "rewards/command/std",
                          "rewards/length_penalty/mean", "rewards/length_penalty/std"], "\(names)")
        #expect(first.metrics[0].1 == 0 && first.metrics[1].1 == 2.5 && abs(first.metrics[2].1 - 1.25.squareRoot()) < 1e-12)
        #expect(first.metrics[3].1 == -0.625)
        #expect(log.contains { $0.contains("same rewards for the first batch asked twice") }, "\(log)")
        #expect(first.components.map(\.name) == ["command", "length_penalty"])
        let second = try scorer.score(queries: [[0], [0], [0], [0]], responses: [[1], [1], [1], [1]])
        #expect(a.calls == 3 && second.metrics.count == 4, "checked once only")
        scorer.close()
        #expect(a.closed)
    }

    @Test func aScorerGivingDifferentRewardsTwiceIsFlagged() throws {
        let a = Scripted("http", [1, 2])
        a.drift = 0.25
        var log: [String] = []
        let scorer = RewardScorer(sources: try WeightedRewardSource([.init(weight: 1, source: a)]), decode: { _ in "" }, log: { log.append($0) })
        let scored = try scorer.score(queries: [[0], [0]], responses: [[1], [2]])
        #expect(scored.rewards == [1.25, 2.25], "the first answer is used")
        #expect(scored.metrics.map(\.0) == ["rewards/http/nondeterministic"] && scored.metrics[0].1 == 1)
        let warning = try #require(log.first { $0.hasPrefix("warning:") })
        #expect(warning.contains("'http' gave different rewards for the same batch asked twice (2 of 2 rows differ, by up to 0.25)"), "\(warning)")
        #expect(warning.contains("pipe reproduce"))
    }

    @Test func wrongCountsAndNonFiniteRewardsNameTheSource() throws {
        let short = Scripted("command", [1])
        let scorer = RewardScorer(sources: try WeightedRewardSource([.init(weight: 1, source: short)]), decode: { _ in "" }, log: { _ in })
        #expect(throws: StageError.failed("reward source 'command' gave 1 rewards for 2 completions")) {
            try scorer.score(queries: [[0], [0]], responses: [[1], [2]])
        }
        let nan = Scripted("command", [1, .nan])
        let scorer2 = RewardScorer(sources: try WeightedRewardSource([.init(weight: 1, source: nan)]), decode: { _ in "" }, log: { _ in })
        #expect(throws: StageError.failed("reward source 'command' gave a non-finite reward (nan) for completion 1")) {
            try scorer2.score(queries: [[0], [0]], responses: [[1], [2]])
        }
    }

    // MARK: Params

    func settings(_ overrides: [String: StageParamValue]) throws -> RewardSettings {
        try RewardSettings(DirectoryStageContext.declaredParams(kind: "ppo", overrides: overrides))
    }

    func message(_ overrides: [String: StageParamValue]) -> String {
        do { _ = try settings(overrides); return "no error" } catch { return "\(error)" }
    }

    @Test func rewardParamsDefaultToTheModelAndBadOnesSayHowToFixThem() throws {
        let defaults = try settings([:])
        #expect(defaults.sources == ["model"] && defaults.weights == [1] && defaults.usesModel)
        let mixed = try settings(["reward_sources": .list([.string("command"), .string("f1")]), "reward_weights": .list([.float(0.5), .int(2)]),
                                  "reward_command": .string("python3 score.py")])
        #expect(mixed.weights == [0.5, 2] && mixed.summary == "0.5·command + 2.0·f1" && !mixed.usesModel)
        #expect(message(["reward_sources": .list([.string("modle")])]).contains("unknown source 'modle'"))
        #expect(message(["reward_sources": .list([.string("f1"), .string("f1")])]).contains("'f1' is listed twice"))
        #expect(message(["reward_sources": .list([.string("model"), .string("f1")]), "reward_weights": .list([.float(1)])])
                    .contains("1 weights for 2 sources"))
        #expect(message(["reward_sources": .list([.string("command")])]).contains("reward_command is empty"))
        #expect(message(["reward_sources": .list([.string("http")])]).contains("reward_url is empty"))
        #expect(message(["reward_sources": .list([.string("http")]), "reward_url": .string("https://x/y")]).contains("https is not supported"))
        #expect(message(["reward_sources": .list([])]).contains("empty"))
    }

    @Test func stageBuildsFailClearlyWithoutWhatTheSourcesNeed() throws {
        let root = try TestDirectory.make("rewards-build")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let context = try DirectoryStageContext(kind: "ppo", params: [:], inputs: [:], outputs: [], root: root)
        func failure(_ overrides: [String: StageParamValue], columns: [String] = []) -> String {
            do {
                let s = try settings(overrides)
                _ = try RewardSources.build(s, model: nil, columns: columns, context: context)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(failure([:]).contains("lists 'model' but the `reward` input (a reward model) is not wired"))
        #expect(failure(["reward_sources": .list([.string("exact_match")])]).contains("reads the column 'reference', which this stage's prompts do not carry"))
        #expect(failure(["reward_sources": .list([.string("exact_match")]), "reward_column": .string("answer")], columns: ["answer"]) == "no error")
        #expect(failure(["reward_sources": .list([.string("command")]), "reward_command": .string("cat ${inputs.scorer}/x")])
                    .contains("uses ${inputs.scorer} but the stage's `scorer` input is not wired"))
        #expect(failure(["reward_sources": .list([.string("command")]), "reward_command": .string("cat ${params.x}")])
                    .contains("unknown reference '${params.x}'"))
    }
}

/// Fresh temporary directories for tests.
enum TestDirectory {
    static func make(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
