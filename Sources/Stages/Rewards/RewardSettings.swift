import Foundation

/// The reward params shared by ppo, grpo and evaluate (stages/shared/reward.yaml): which sources,
/// their weights, and each kind's settings. The gold scorer of ppo and grpo (stages/shared/gold.yaml)
/// is the same group under the prefix `gold_`, with its own inputs (`gold_reward`, `gold_scorer`).
public struct RewardSettings: Sendable, Equatable {
    /// Which param group: the reward in the gradient, or the gold scorer that is only measured.
    public enum Role: String, Sendable {
        case reward, gold
        /// The params' prefix (`reward_sources`, `gold_sources`, ...).
        public var prefix: String { rawValue + "_" }
        /// The input holding the `model` source's reward model.
        public var modelInput: String { self == .reward ? "reward" : "gold_reward" }
        /// The input holding a `command` source's files.
        public var scorerInput: String { self == .reward ? "scorer" : "gold_scorer" }
    }

    public var role: Role
    /// The source names, in order: `model`, `command`, `http`, or a rule (`RuleRewardSource.Rule`).
    public var sources: [String]
    /// One weight per source (all 1 when the param is empty).
    public var weights: [Float]
    public var command: String
    public var url: String
    public var httpFormat: HTTPRewardSource.Format
    public var timeout: Double
    public var retries: Int
    public var column: String
    public var pattern: String
    public var normalize: Bool
    public var targetLength: Int
    public var repetitionNgram: Int

    public static let kinds = ["model", "command", "http"] + RuleRewardSource.Rule.allCases.map(\.rawValue)

    public init(_ p: StageParams, role: Role = .reward) throws {
        self.role = role
        let prefix = role.prefix
        sources = try p.strings(prefix + "sources")
        let weightList = try p.numbers(prefix + "weights")
        command = try p.string(prefix + "command")
        url = try p.string(prefix + "url")
        let format = try p.string(prefix + "http_format")
        timeout = try p.double(prefix + "timeout")
        retries = try p.int(prefix + "retries")
        column = try p.string(prefix + "column")
        pattern = try p.string(prefix + "pattern")
        normalize = try p.bool(prefix + "normalize")
        targetLength = try p.int(prefix + "target_length")
        repetitionNgram = try p.int(prefix + "repetition_ngram")

        // An empty gold list means no gold scorer; the reward needs a source.
        guard !sources.isEmpty || role == .gold else { throw StageError.badParam(prefix + "sources", "empty: name at least one source (\(Self.kinds.joined(separator: ", ")))") }
        for (i, name) in sources.enumerated() {
            guard Self.kinds.contains(name) else {
                throw StageError.badParam(prefix + "sources", "unknown source '\(name)' (known: \(Self.kinds.joined(separator: ", ")))")
            }
            guard !sources[..<i].contains(name) else { throw StageError.badParam(prefix + "sources", "'\(name)' is listed twice") }
        }
        if weightList.isEmpty {
            weights = Array(repeating: 1, count: sources.count)
        } else {
            guard weightList.count == sources.count else {
                throw StageError.badParam(prefix + "weights", "\(weightList.count) weights for \(sources.count) sources (\(sources.joined(separator: ", "))): give one weight per source, or none for 1 each")
            }
            guard weightList.allSatisfy(\.isFinite) else { throw StageError.badParam(prefix + "weights", "weights must be finite numbers") }
            weights = weightList.map(Float.init)
        }
        guard let f = HTTPRewardSource.Format(rawValue: format) else {
            throw StageError.badParam(prefix + "http_format", "'\(format)' is not one of openrlhf, pipe")
        }
        httpFormat = f
        guard timeout > 0, timeout.isFinite else { throw StageError.badParam(prefix + "timeout", "must be a positive number of seconds") }
        guard retries >= 0 else { throw StageError.badParam(prefix + "retries", "must be ≥ 0") }
        guard targetLength >= 1 else { throw StageError.badParam(prefix + "target_length", "must be ≥ 1") }
        guard repetitionNgram >= 1 else { throw StageError.badParam(prefix + "repetition_ngram", "must be ≥ 1") }
        if sources.contains("command") && command.trimmingCharacters(in: .whitespaces).isEmpty {
            throw StageError.badParam(prefix + "command", "\(prefix)sources lists 'command' but \(prefix)command is empty: give the scorer's command line, e.g. \"python3 ${inputs.\(role.scorerInput)}/score.py\"")
        }
        if sources.contains("http") && url.isEmpty {
            throw StageError.badParam(prefix + "url", "\(prefix)sources lists 'http' but \(prefix)url is empty: give the server's URL, e.g. http://127.0.0.1:5000/get_reward")
        }
        if sources.contains("http") {
            do { _ = try HTTPClient.endpoint(url) } catch let error as StageError {
                guard role == .gold, case .badParam(_, let reason) = error else { throw error }
                throw StageError.badParam(prefix + "url", reason)
            }
        }
        if sources.contains("regex") && !pattern.isEmpty {
            do { _ = try NSRegularExpression(pattern: pattern) } catch {
                throw StageError.badParam(prefix + "pattern", "'\(pattern)' is not a valid regular expression (ICU syntax): \(error.localizedDescription)")
            }
        }
    }

    /// Whether any source is listed (always for the reward; a gold scorer is optional).
    public var isEnabled: Bool { !sources.isEmpty }

    /// Whether the `model` source (the `reward` input) is used.
    public var usesModel: Bool { sources.contains("model") }

    /// The rules among the sources.
    public var rules: [RuleRewardSource.Rule] { sources.compactMap(RuleRewardSource.Rule.init(rawValue:)) }

    /// A short description for the stage log.
    public var summary: String {
        zip(sources, weights).map { $0.1 == 1 ? $0.0 : "\($0.1)·\($0.0)" }.joined(separator: " + ")
    }
}

extension StageParams {
    /// A list param of numbers (ints or floats).
    public func numbers(_ name: String) throws -> [Double] {
        guard case .list(let items) = try value(name) else { throw StageError.badParam(name, "expected a list") }
        return try items.map {
            switch $0 {
            case .int(let v): return Double(v)
            case .float(let v): return v
            default: throw StageError.badParam(name, "expected a list of numbers")
            }
        }
    }
}
