import Models

extension EvaluateStage {
    /// A token sequence and which of its next-token targets count: `counted[i]` says whether predicting
    /// `tokens[i + 1]` enters the perplexity.
    struct ScoredSequence {
        var tokens: [Int32]
        var counted: [Bool]
    }

    /// exp(mean NLL) over the first `reviews` test reviews, each as `[EOS] + review` cut to n_positions.
    static func heldOutPerplexity(_ model: GPTModel, _ file: TokenFile, reviews: Int, eos: Int32, pad: Int32) throws -> Double {
        let t = model.config.maxPositions
        let docs = (0..<min(reviews, file.count)).map { ModelArtifacts.withBOS(file.record($0).prefix(t), eos: eos) }.filter { $0.count >= 2 }
        guard !docs.isEmpty else { throw StageError.badInput("tokens", "test split has no reviews for perplexity") }
        return perplexity(model, docs.map { ScoredSequence(tokens: $0, counted: Array(repeating: true, count: $0.count - 1)) }, pad: pad)
    }

    /// exp(mean NLL) of the completions and their closing EOS given `[EOS] + prompt`, the loss SFT trains
    /// on; rows longer than n_positions keep their end (the completion).
    static func completionPerplexity(_ model: GPTModel, _ examples: [PromptCompletionExample], eos: Int32, pad: Int32) throws -> Double {
        let batcher = try ExampleBatcher(examples: examples, eos: eos, pad: pad, blockSize: model.config.maxPositions - 1, keepEnd: true)
        let sequences = examples.indices.map { i in
            let (tokens, counts) = batcher.sequence(i)
            return ScoredSequence(tokens: tokens, counted: Array(counts.dropFirst()))
        }
        return perplexity(model, sequences, pad: pad)
    }

    /// exp(mean NLL) over the counted targets of `sequences` (each at least 2 tokens), forwarded in
    /// right-padded batches of 16 with the pads masked.
    static func perplexity(_ model: GPTModel, _ sequences: [ScoredSequence], pad: Int32) -> Double {
        var nll = 0.0, count = 0
        for start in Swift.stride(from: 0, to: sequences.count, by: 16) {
            let chunk = sequences[start..<min(sequences.count, start + 16)]
            let width = chunk.map { $0.tokens.count - 1 }.max()!
            var tokens: [Int32] = [], targets: [Int32] = [], mask: [Float] = [], attention: [Int32] = []
            for sequence in chunk {
                let n = sequence.tokens.count - 1, padding = width - n
                tokens += sequence.tokens.prefix(n) + Array(repeating: pad, count: padding)
                targets += sequence.tokens.dropFirst() + Array(repeating: pad, count: padding)
                mask += sequence.counted.map { $0 ? Float(1) : 0 } + Array(repeating: 0, count: padding)
                attention += Array(repeating: 1, count: n) + Array(repeating: 0, count: padding)
            }
            let counted = Int(mask.reduce(0, +))
            guard counted > 0 else { continue }
            model.forward(TokenBatch(tokens: tokens, batch: chunk.count, time: width, attentionMask: attention))
            nll += Double(model.crossEntropy(targets: targets, lossMask: mask, computeGradient: false)) * Double(counted)
            count += counted
        }
        return TextStatistics.perplexity(totalNLL: nll, tokens: count)
    }
}
