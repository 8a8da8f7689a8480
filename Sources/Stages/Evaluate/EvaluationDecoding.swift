import Models
import Tensor

/// One way `evaluate` has both models answer the held-out prompts (the `decodings` param).
enum EvaluationDecoding: Equatable {
    /// `samples_per_prompt` draws per prompt at `temperature` (what PPO samples; paired seeds across models).
    case sample(perPrompt: Int, temperature: Float)
    /// One argmax answer per prompt.
    case greedy
    /// One answer per prompt: the best hypothesis of beam search (transformers' defaults otherwise).
    case beam(numBeams: Int, lengthPenalty: Float)

    static let names = ["sample", "greedy", "beam"]

    /// The `decodings` list of the params, checked: known names, no repeats, at least one.
    static func parse(_ names: [String], perPrompt: Int, temperature: Float, numBeams: Int, lengthPenalty: Float) throws -> [EvaluationDecoding] {
        guard !names.isEmpty else { throw StageError.badParam("decodings", "list at least one of sample, greedy, beam") }
        var seen: [String] = []
        return try names.map { name in
            guard !seen.contains(name) else { throw StageError.badParam("decodings", "'\(name)' is listed twice; list each decoding once") }
            seen.append(name)
            switch name {
            case "sample": return .sample(perPrompt: perPrompt, temperature: temperature)
            case "greedy": return .greedy
            case "beam":
                guard lengthPenalty.isFinite else { throw StageError.badParam("length_penalty", "must be a finite number") }
                return .beam(numBeams: numBeams, lengthPenalty: lengthPenalty)
            default:
                throw StageError.badParam("decodings", "unknown decoding '\(name)'; use sample, greedy or beam")
            }
        }
    }

    var name: String {
        switch self {
        case .sample: "sample"
        case .greedy: "greedy"
        case .beam: "beam"
        }
    }

    /// How it reads in a table: the settings that make it what it is.
    var label: String {
        switch self {
        case .sample(let n, let t): "sample (\(n)/prompt, T \(shortNumber(t)))"
        case .greedy: "greedy"
        case .beam(let k, let lp): "beam (\(k) beams, lp \(shortNumber(lp)))"
        }
    }

    /// A param's value as written (0.7, not the Float's 0.699999988…).
    private func shortNumber(_ x: Float) -> String { JSONText.number(Double("\(x)") ?? Double(x)) }

    /// Answers per prompt.
    var perPrompt: Int {
        if case .sample(let n, _) = self { return n }
        return 1
    }

    /// The temperature the answers' log-probs (and so the KL to the reference) are taken at.
    var scoringTemperature: Float {
        if case .sample(_, let t) = self { return t }
        return 1
    }

    /// Its settings as JSON members (for metrics.json).
    var settings: [(String, String)] {
        switch self {
        case .sample(let n, let t): [("samples_per_prompt", String(n)), ("temperature", shortNumber(t))]
        case .greedy: []
        case .beam(let k, let lp): [("num_beams", String(k)), ("length_penalty", shortNumber(lp))]
        }
    }

    /// Responses of `length` tokens for `queries` (row-major [B × length], `pad` after a response's end)
    /// and each response's length: `length`, or up to and including its first `eos` when given.
    func responses(_ model: ModelReplicas, queries: [[Int32]], length: Int, pad: Int32, eos: Int32?,
                   random: inout RandomStream) -> (tokens: [Int32], lengths: [Int]) {
        var out = [Int32](repeating: pad, count: queries.count * length)
        var lengths = [Int](repeating: length, count: queries.count)
        switch self {
        case .sample(_, let temperature):
            out = ResponseSampler.sample(model, queries: queries, length: length, temperature: temperature, pad: pad,
                                         eos: eos, random: &random)
            if let eos {
                for b in queries.indices {
                    if let end = out[(b * length)..<((b + 1) * length)].firstIndex(of: eos) { lengths[b] = end - b * length + 1 }
                }
            }
        case .greedy:
            var options = SamplingOptions(maxNewTokens: length, greedy: true, eosTokenID: eos)
            options.padTokenID = pad
            let generation = model.generate(prompts: queries, options: options)
            for b in queries.indices {
                lengths[b] = generation.lengths[b]
                for (t, token) in generation.row(b).enumerated() { out[b * length + t] = token }
            }
        case .beam(let beams, let penalty):
            let result = model.beamSearch(prompts: queries, options: BeamSearchOptions(
                maxNewTokens: length, numBeams: beams, lengthPenalty: penalty, eosTokenID: eos))
            for (b, best) in result.best.enumerated() {
                lengths[b] = best.tokens.count
                for (t, token) in best.tokens.enumerated() { out[b * length + t] = token }
            }
        }
        return (out, lengths)
    }
}
