import Foundation

/// How `evaluate` reports several decodings side by side: per decoding, both models' figures and the
/// policy's gains over the baseline (metrics.json `decodings`, `decoding/<name>/…` metrics, a log table),
/// and each decoding's answers next to the headline's in samples.jsonl.
extension EvaluateStage {
    static func mean(_ r: ModelReport, _ f: (Sample) -> Double) -> Double {
        r.samples.reduce(0.0) { $0 + f($1) } / Double(max(r.samples.count, 1))
    }

    /// The share of answers the judge calls positive (probability > 0.5).
    static func judgeRate(_ samples: [Sample]) -> Double {
        samples.reduce(0.0) { $0 + ($1.judgePositive > 0.5 ? 1 : 0) } / Double(max(samples.count, 1))
    }

    static func judgeRate(_ r: ModelReport) -> Double { judgeRate(r.samples) }

    static func distinct2(_ r: ModelReport) -> Double { TextStatistics.distinct(r.samples.map { Array($0.responseText) }, n: 2) }

    /// The policy over the baseline on the same answers' prompts: reward gain, win rate (ties ½), judge gain.
    static func gains(_ sft: ModelReport, _ ppo: ModelReport) -> [(String, Double)] {
        let wins = zip(ppo.samples, sft.samples).reduce(0.0) { $0 + ($1.0.rmReward > $1.1.rmReward ? 1 : $1.0.rmReward == $1.1.rmReward ? 0.5 : 0) }
        var out = [("rm_reward_gain", mean(ppo, \.rmReward) - mean(sft, \.rmReward)),
                   ("rm_win_rate", wins / Double(max(ppo.samples.count, 1)))]
        if sft.judged { out.insert(("judge_positive_rate_gain", judgeRate(ppo) - judgeRate(sft)), at: 0) }
        return out
    }

    /// metrics.json `decodings`: {name: {settings…, sft: {…}, ppo: {…}, comparison: {…}}} in the listed order.
    static func decodingsJSON(_ decodings: [EvaluationDecoding], _ reports: [[ModelReport]]) -> String {
        JSONText.object(decodings.indices.map { d in
            // Perplexity does not depend on the decoding: it stays with the headline figures only.
            var (sft, ppo) = (reports[d][0], reports[d][1])
            sft.perplexity = nil; ppo.perplexity = nil
            return (decodings[d].name, JSONText.object(decodings[d].settings + [
                ("sft", JSONText.object(sft.members)), ("ppo", JSONText.object(ppo.members)),
                ("comparison", JSONText.object(gains(sft, ppo).map { ($0.0, JSONText.number($0.1)) })),
            ]))
        })
    }

    /// `decoding/<name>/{sft,ppo}/…` and `decoding/<name>/comparison/…` for every decoding.
    static func decodingMetrics(_ decodings: [EvaluationDecoding], _ reports: [[ModelReport]]) -> [(String, Double)] {
        var out: [(String, Double)] = []
        for (d, decoding) in decodings.enumerated() {
            let prefix = "decoding/\(decoding.name)/"
            for r in reports[d] {
                out.append((prefix + "\(r.name)/rm_reward_mean", mean(r, \.rmReward)))
                if r.judged { out.append((prefix + "\(r.name)/judge_positive_rate", judgeRate(r))) }
                out += [(prefix + "\(r.name)/kl_to_reference_nats", mean(r, \.klToReference)),
                        (prefix + "\(r.name)/distinct_2", distinct2(r)),
                        (prefix + "\(r.name)/response_chars_mean", mean(r) { Double($0.responseText.count) })]
            }
            out += gains(reports[d][0], reports[d][1]).map { (prefix + "comparison/\($0.0)", $0.1) }
        }
        return out
    }

    /// The answers of the other decodings to headline row `row`'s prompt (its first answer when a
    /// decoding gives fewer per prompt): `sft_<name>`, `sft_<name>_rm`, `sft_<name>_judge`, the same for ppo.
    static func otherDecodingFields(row: Int, _ decodings: [EvaluationDecoding], _ reports: [[ModelReport]]) -> [(String, String)] {
        let headlinePerPrompt = decodings[0].perPrompt
        let prompt = row / headlinePerPrompt, draw = row % headlinePerPrompt
        var out: [(String, String)] = []
        for d in decodings.indices.dropFirst() {
            let index = prompt * decodings[d].perPrompt + min(draw, decodings[d].perPrompt - 1)
            for r in reports[d] {
                let s = r.samples[index], key = "\(r.name)_\(decodings[d].name)"
                out += [(key, JSONText.quoted(s.responseText)), (key + "_rm", JSONText.number(s.rmReward)),
                        (key + "_judge", JSONText.number(s.judgePositive))]
            }
        }
        return out
    }

    /// The log's decoding table: one row per decoding, each cell "sft → ppo".
    static func decodingsTable(_ decodings: [EvaluationDecoding], _ reports: [[ModelReport]]) -> String {
        let judged = reports[0][0].judged
        var columns: [(String, (ModelReport) -> Double)] = [("rm reward", { mean($0, \.rmReward) })]
        if judged { columns.append(("judge positive", judgeRate)) }
        columns += [("KL (nats/resp.)", { mean($0, \.klToReference) }), ("distinct-2", distinct2),
                    ("chars", { mean($0) { Double($0.responseText.count) } })]
        let labelWidth = max(24, decodings.map(\.label.count).max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        var s = pad("decodings (sft → ppo)", labelWidth + 2) + columns.map { pad($0.0, 20) }.joined() + "win rate\n"
        for (d, decoding) in decodings.enumerated() {
            let (sft, ppo) = (reports[d][0], reports[d][1])
            s += "  " + pad(decoding.label, labelWidth)
            s += columns.map { pad(String(format: "%7.3f → %7.3f", $0.1(sft), $0.1(ppo)), 20) }.joined()
            s += String(format: "%7.3f", gains(sft, ppo).first { $0.0 == "rm_win_rate" }?.1 ?? 0) + "\n"
        }
        return s
    }
}
