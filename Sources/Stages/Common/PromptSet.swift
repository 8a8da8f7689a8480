import Tokenizer

/// The prompts an RL stage (ppo, grpo) samples from: the fixed ones, then `corpusPrompts` openings of
/// `promptTokens` tokens from the train split, each as `[EOS] + tokens`.
public enum PromptSet {
    public static func build(fixed: [String], corpusPrompts wanted: Int, promptTokens length: Int,
                             tokenizer: PretrainedTokenizer, train: TokenFile?) throws -> [[Int32]] {
        let eos = tokenizer.endOfTextId
        var prompts = fixed.map { ModelArtifacts.withBOS(tokenizer.encode($0, allowSpecial: false), eos: eos) }
        if wanted > 0, let train {
            let eligible = (0..<train.count).filter { train.record($0).count > length }
            // Evenly spaced over the file (ordered by content hash, so effectively a random sample).
            let stride = max(1, eligible.count / max(wanted, 1))
            for k in 0..<min(wanted, eligible.count) {
                prompts.append(ModelArtifacts.withBOS(train.record(eligible[k * stride]).prefix(length), eos: eos))
            }
        }
        guard !prompts.isEmpty else {
            throw StageError.badParam("classic_prompts", "no prompts: give `classic_prompts` or wire `tokens` with corpus_prompts > 0")
        }
        return prompts
    }
}
