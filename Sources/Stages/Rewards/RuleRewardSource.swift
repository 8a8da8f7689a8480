import Foundation

/// Built-in scorers of the completion text, each a reward source of its own name:
///
/// | name                 | reward                                                                 |
/// |----------------------|------------------------------------------------------------------------|
/// | `exact_match`        | 1 when the completion equals the row's `reward_column` value, else 0    |
/// | `contains`           | 1 when the completion contains the column value, else 0                 |
/// | `regex`              | 1 when `reward_pattern` (or, when empty, the column value) matches anywhere in the completion |
/// | `f1`                 | SQuAD-style token-overlap F1 against the column value                   |
/// | `rouge_l`            | ROUGE-L F1 (longest common subsequence) against the column value        |
/// | `length_penalty`     | −\|tokens − reward_target_length\| / reward_target_length               |
/// | `repetition_penalty` | −(fraction of repeated `reward_repetition_ngram`-grams)                 |
/// | `set_membership`     | +1 when the answer is one of the column's values (a list, or one string), else −1 |
///
/// `set_membership` scores as the ChatGLM RLHF project does (+1 for an answer that is in the context
/// and of the asked category, −1 otherwise): the column lists every right answer. The answer is the
/// whole completion, or, with `reward_pattern`, the pattern's first match in it (its first capture
/// group when it has one): a sampler that runs on past the answer's end then costs nothing, and a
/// completion the pattern does not match scores −1.
///
/// With `reward_normalize` the completion and the reference are normalised first (NFKC, lower case,
/// punctuation dropped, whitespace collapsed: `TextOverlap.normalize`). Tokens are words, with each CJK
/// character a token (`TextOverlap.tokens`): Chinese is compared character by character.
public final class RuleRewardSource: RewardSource {
    public enum Rule: String, Sendable, CaseIterable {
        case exactMatch = "exact_match", contains, regex, f1, rougeL = "rouge_l"
        case lengthPenalty = "length_penalty", repetitionPenalty = "repetition_penalty"
        case setMembership = "set_membership"

        /// Whether the rule reads the `reward_column` of each row.
        func needsColumn(pattern: String) -> Bool {
            switch self {
            case .exactMatch, .contains, .f1, .rougeL, .setMembership: return true
            case .regex: return pattern.isEmpty
            case .lengthPenalty, .repetitionPenalty: return false
            }
        }
    }

    public let rule: Rule
    public let column: String
    public let normalizeText: Bool
    public let targetLength: Int
    public let ngram: Int
    /// The fixed pattern of `regex` (nil: the column gives one per row), or the answer extractor of
    /// `set_membership` (nil: the whole completion is the answer).
    let fixedPattern: NSRegularExpression?

    public var name: String { rule.rawValue }
    public var deterministicByConstruction: Bool { true }

    public init(rule: Rule, column: String, pattern: String = "", normalize: Bool = true, targetLength: Int = 16, ngram: Int = 2) throws {
        self.rule = rule
        self.column = column
        self.normalizeText = normalize
        self.targetLength = targetLength
        self.ngram = ngram
        if (rule == .regex || rule == .setMembership) && !pattern.isEmpty {
            do { fixedPattern = try NSRegularExpression(pattern: pattern) } catch {
                throw StageError.badParam("reward_pattern", "'\(pattern)' is not a valid regular expression (ICU syntax): \(error.localizedDescription)")
            }
        } else {
            fixedPattern = nil
        }
        guard targetLength >= 1 else { throw StageError.badParam("reward_target_length", "must be ≥ 1") }
        guard ngram >= 1 else { throw StageError.badParam("reward_repetition_ngram", "must be ≥ 1") }
    }

    /// Whether this rule reads the `reward_column` of each row.
    public var needsColumn: Bool { rule.needsColumn(pattern: fixedPattern?.pattern ?? "") }

    public func score(_ request: RewardRequest) throws -> [Float] {
        var references: [RewardJSON] = []
        if needsColumn {
            guard let values = request.columns[column] else {
                let have = request.columnNames
                throw StageError.badParam("reward_column", "rule '\(rule.rawValue)' reads the column '\(column)', which the prompts do not carry (\(have.isEmpty ? "they carry no columns" : "columns: " + have.joined(separator: ", ")))")
            }
            guard values.count == request.count else {
                throw StageError.failed("rule '\(rule.rawValue)': column '\(column)' has \(values.count) values for \(request.count) rows")
            }
            references = values
        }
        var rewards: [Float] = []
        rewards.reserveCapacity(request.count)
        for (row, completion) in request.completions.enumerated() {
            if rule == .setMembership {
                rewards.append(try membership(completion: completion, answers: references[row], row: row))
                continue
            }
            let reference = needsColumn ? references[row].plainText : ""
            rewards.append(Float(try score(completion: completion, reference: reference, row: row)))
        }
        return rewards
    }

    func score(completion: String, reference: String, row: Int) throws -> Double {
        let text = normalizeText ? TextOverlap.normalize(completion) : completion
        let target = normalizeText ? TextOverlap.normalize(reference) : reference
        switch rule {
        case .exactMatch:
            return text == target ? 1 : 0
        case .contains:
            return !target.isEmpty && text.contains(target) ? 1 : 0
        case .regex:
            let expression: NSRegularExpression
            if let fixedPattern { expression = fixedPattern } else {
                do { expression = try NSRegularExpression(pattern: reference) } catch {
                    throw StageError.failed("rule 'regex': row \(row)'s '\(column)' value '\(reference)' is not a valid regular expression: \(error.localizedDescription)")
                }
            }
            // The raw completion: a pattern may rely on case or punctuation.
            let range = NSRange(completion.startIndex..<completion.endIndex, in: completion)
            return expression.firstMatch(in: completion, range: range) != nil ? 1 : 0
        case .f1:
            return TextOverlap.f1(TextOverlap.tokens(text), TextOverlap.tokens(target))
        case .rougeL:
            return TextOverlap.rougeL(TextOverlap.tokens(text), TextOverlap.tokens(target))
        case .lengthPenalty:
            let length = TextOverlap.tokens(text).count
            return -Double(abs(length - targetLength)) / Double(targetLength)
        case .repetitionPenalty:
            return -TextOverlap.repetition(TextOverlap.tokens(text), n: ngram)
        case .setMembership:
            return Double(try membership(completion: completion, answers: .string(reference), row: row))
        }
    }

    /// `set_membership`: +1 when the completion's answer is one of `answers`, else −1.
    func membership(completion: String, answers: RewardJSON, row: Int) throws -> Float {
        let members: [String]
        switch answers {
        case .string(let s): members = [s]
        case .array(let items):
            members = try items.map {
                guard case .string(let s) = $0 else {
                    throw StageError.failed("rule 'set_membership': row \(row)'s '\(column)' value holds \($0.text), not a string; the column must be a list of strings (the right answers) or one string")
                }
                return s
            }
        default:
            throw StageError.failed("rule 'set_membership': row \(row)'s '\(column)' value is \(answers.text), not a list of strings (the right answers) or one string")
        }
        var answer = completion
        if let fixedPattern {
            let range = NSRange(completion.startIndex..<completion.endIndex, in: completion)
            guard let match = fixedPattern.firstMatch(in: completion, range: range) else { return -1 }
            let group = fixedPattern.numberOfCaptureGroups > 0 ? match.range(at: 1) : match.range
            guard let found = Range(group, in: completion) else { return -1 }
            answer = String(completion[found])
        }
        let key = normalizeText ? TextOverlap.normalize(answer) : answer
        guard !key.isEmpty else { return -1 }
        return members.contains { (normalizeText ? TextOverlap.normalize($0) : $0) == key } ? 1 : -1
    }
}
