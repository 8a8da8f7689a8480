import Foundation

/// The reward params shared by ppo, grpo and evaluate (stages/shared/reward.yaml): which sources,
/// their weights, and each kind's settings.
public struct RewardSettings: Sendable, Equatable {
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

    public init(_ p: StageParams) throws {
        sources = try p.strings("reward_sources")
        let weightList = try p.numbers("reward_weights")
        command = try p.string("reward_command")
        url = try p.string("reward_url")
        let format = try p.string("reward_http_format")
        timeout = try p.double("reward_timeout")
        retries = try p.int("reward_retries")
        column = try p.string("reward_column")
        pattern = try p.string("reward_pattern")
        normalize = try p.bool("reward_normalize")
        targetLength = try p.int("reward_target_length")
        repetitionNgram = try p.int("reward_repetition_ngram")

        guard !sources.isEmpty else { throw StageError.badParam("reward_sources", "empty: name at least one source (\(Self.kinds.joined(separator: ", ")))") }
        for (i, name) in sources.enumerated() {
            guard Self.kinds.contains(name) else {
                throw StageError.badParam("reward_sources", "unknown source '\(name)' (known: \(Self.kinds.joined(separator: ", ")))")
            }
            guard !sources[..<i].contains(name) else { throw StageError.badParam("reward_sources", "'\(name)' is listed twice") }
        }
        if weightList.isEmpty {
            weights = Array(repeating: 1, count: sources.count)
        } else {
            guard weightList.count == sources.count else {
                throw StageError.badParam("reward_weights", "\(weightList.count) weights for \(sources.count) sources (\(sources.joined(separator: ", "))): give one weight per source, or none for 1 each")
            }
            guard weightList.allSatisfy(\.isFinite) else { throw StageError.badParam("reward_weights", "weights must be finite numbers") }
            weights = weightList.map(Float.init)
        }
        guard let f = HTTPRewardSource.Format(rawValue: format) else {
            throw StageError.badParam("reward_http_format", "'\(format)' is not one of openrlhf, pipe")
        }
        httpFormat = f
        guard timeout > 0, timeout.isFinite else { throw StageError.badParam("reward_timeout", "must be a positive number of seconds") }
        guard retries >= 0 else { throw StageError.badParam("reward_retries", "must be ≥ 0") }
        guard targetLength >= 1 else { throw StageError.badParam("reward_target_length", "must be ≥ 1") }
        guard repetitionNgram >= 1 else { throw StageError.badParam("reward_repetition_ngram", "must be ≥ 1") }
        if sources.contains("command") && command.trimmingCharacters(in: .whitespaces).isEmpty {
            throw StageError.badParam("reward_command", "reward_sources lists 'command' but reward_command is empty: give the scorer's command line, e.g. \"python3 ${inputs.scorer}/score.py\"")
        }
        if sources.contains("http") && url.isEmpty {
            throw StageError.badParam("reward_url", "reward_sources lists 'http' but reward_url is empty: give the server's URL, e.g. http://127.0.0.1:5000/get_reward")
        }
        if sources.contains("http") { _ = try HTTPClient.endpoint(url) }
    }

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
