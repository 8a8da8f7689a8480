import Foundation

/// One preference pair: two token sequences where `chosen` is preferred. `promptLength` tokens at the start
/// are shared context (0 for the labels strategy, where the two reviews are unrelated texts).
public struct PreferencePair: Codable, Sendable, Equatable {
    public var chosen: [Int32]
    public var rejected: [Int32]
    public var promptLength: Int
    /// Decoded text, for people reading the file.
    public var chosenText: String
    public var rejectedText: String
    /// Annotator scores when the pair came from judged samples (nil for labels).
    public var chosenScore: Double?
    public var rejectedScore: Double?
    /// How much better chosen is (a preference dataset's margin column); nil: no margin in the loss.
    public var margin: Double?

    enum CodingKeys: String, CodingKey {
        case chosen, rejected
        case promptLength = "prompt_length"
        case chosenText = "chosen_text", rejectedText = "rejected_text"
        case chosenScore = "chosen_score", rejectedScore = "rejected_score"
        case margin
    }

    public init(chosen: [Int32], rejected: [Int32], promptLength: Int, chosenText: String, rejectedText: String,
                chosenScore: Double? = nil, rejectedScore: Double? = nil, margin: Double? = nil) {
        self.chosen = chosen; self.rejected = rejected; self.promptLength = promptLength
        self.chosenText = chosenText; self.rejectedText = rejectedText
        self.chosenScore = chosenScore; self.rejectedScore = rejectedScore; self.margin = margin
    }
}

/// The `pairs` artifact: `pairs.jsonl` (training) and `pairs-valid.jsonl` (held out), one JSON object a line.
public enum PreferencePairsFile {
    public static let trainName = "pairs.jsonl"
    public static let validName = "pairs-valid.jsonl"

    public static func write(_ pairs: [PreferencePair], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for pair in pairs {
            data.append(try encoder.encode(pair))
            data.append(0x0A)
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    public static func read(_ path: String) throws -> [PreferencePair] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StageError.failed("\(path): cannot read the pairs file (is the input an rm-pairs output?)")
        }
        let decoder = JSONDecoder()
        var pairs: [PreferencePair] = []
        var lineNumber = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            do {
                let pair = try decoder.decode(PreferencePair.self, from: Data(line))
                guard !pair.chosen.isEmpty, !pair.rejected.isEmpty else {
                    throw StageError.failed("empty token list")
                }
                pairs.append(pair)
            } catch {
                throw StageError.failed("\(path):\(lineNumber): not a valid pair (\(error)); expected {\"chosen\": [ids], \"rejected\": [ids], \"prompt_length\": n, ...}")
            }
        }
        return pairs
    }
}
