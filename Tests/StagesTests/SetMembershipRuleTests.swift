import Foundation
import Testing
@testable import Stages

/// The `set_membership` rule: +1 when the answer is one of the row's right answers, −1 otherwise.
@Suite struct SetMembershipRuleTests {
    static func score(_ completions: [String], answers: [RewardJSON], pattern: String = "", normalize: Bool = true) throws -> [Float] {
        let source = try RuleRewardSource(rule: .setMembership, column: "answers", pattern: pattern, normalize: normalize)
        #expect(source.needsColumn && source.deterministicByConstruction)
        return try source.score(prompts: completions.map { _ in "q" }, completions: completions, columns: ["answers": answers])
    }

    static func list(_ items: String...) -> RewardJSON { .array(items.map(RewardJSON.string)) }

    @Test func anAnswerInTheSetScoresPlusOneAnythingElseMinusOne() throws {
        let answers = Self.list("香港", "北京")
        #expect(try Self.score(["香港", "北京", "上海", "", "香港北京"], answers: Array(repeating: answers, count: 5)) == [1, 1, -1, -1, -1])
        // One string is a set of one; normalisation folds case, width and punctuation on both sides.
        #expect(try Self.score(["Paris.", "ＰＡＲＩＳ", "Lyon"], answers: [.string("paris"), .string("Paris"), .string("paris")]) == [1, 1, -1])
        #expect(try Self.score(["Paris."], answers: [.string("Paris")], normalize: false) == [-1])
        // An empty answer is never right, even against an empty member.
        #expect(try Self.score([" 。"], answers: [Self.list("")]) == [-1])
    }

    @Test func thePatternExtractsTheAnswerSoTextAfterItsEndIsIgnored() throws {
        let answers = Array(repeating: Self.list("香港", "新华社"), count: 5)
        // The answer ends at 》; what the sampler wrote after the end of text does not count.
        let scores = try Self.score(["香港》江泽民（人名）", "新华社》》", "上海》香港》", "香港", "》香港"], answers: answers, pattern: "^([^》]*)》")
        #expect(scores == [1, 1, -1, -1, -1], "an unterminated answer or an empty one scores −1: \(scores)")
        // Without a capture group the whole match is the answer.
        #expect(try Self.score(["答：香港。", "答：北京。"], answers: Array(repeating: Self.list("香港"), count: 2), pattern: "(?<=答：)[^。]+") == [1, -1])
    }

    @Test func aColumnThatIsNotAListOfStringsIsAClearError() throws {
        do {
            _ = try Self.score(["a"], answers: [.number(3)])
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("row 0's 'answers' value is 3") && "\(error)".contains("list of strings"), "\(error)")
        }
        do {
            _ = try Self.score(["a"], answers: [.array([.string("a"), .number(1)])])
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("row 0's 'answers' value holds 1"), "\(error)")
        }
        #expect(throws: StageError.self) { try RuleRewardSource(rule: .setMembership, column: "answers", pattern: "(") }
    }

    @Test func settingsAcceptTheRuleByName() throws {
        #expect(RewardSettings.kinds.contains("set_membership"))
        #expect(RuleRewardSource.Rule(rawValue: "set_membership") == .setMembership)
    }
}
