import Models
import Tokenizer

extension EvaluateStage {
    /// Up to `limit` held-out (prompt, completion) token pairs of a prompt-completion dataset's split,
    /// the prompt through the template; nil for datasets without completions.
    static func heldOutCompletions(_ dataset: DatasetReader, split: String, template: PromptTemplate,
                                   tokenizer: PretrainedTokenizer, limit: Int) throws -> [PromptCompletionExample]? {
        guard dataset.kind == .promptCompletion, dataset.splits.contains(split) else { return nil }
        let records = TemplatedRecords(template: template, tokenizer: tokenizer)
        var examples: [PromptCompletionExample] = [], index = 0
        try dataset.forEachRecord(in: split) { record in
            index += 1
            guard examples.count < limit, case .promptCompletion(let r) = record else { return }
            examples.append(try TemplatedRecords.located("\(split).jsonl record \(index)") { try records.example(r) })
        }
        return examples
    }

    /// exp(mean NLL) of the completions and their closing EOS given `[EOS] + prompt`, the loss SFT trains
    /// on; rows longer than n_positions keep their end (the completion).
    static func completionPerplexity(_ model: GPTModel, _ examples: [PromptCompletionExample], eos: Int32, pad: Int32) throws -> Double {
        let batcher = try ExampleBatcher(examples: examples, eos: eos, pad: pad, blockSize: model.config.maxPositions - 1, keepEnd: true)
        var nll = 0.0, count = 0.0
        for start in stride(from: 0, to: examples.count, by: 16) {
            let rows = Array(start..<min(examples.count, start + 16))
            var tokens: [Int32] = [], targets: [Int32] = [], mask: [Float] = []
            let width = rows.map { batcher.sequence($0).tokens.count - 1 }.max()!
            for i in rows {
                let (t, counts) = batcher.sequence(i)
                let n = t.count - 1
                tokens += t.prefix(n) + Array(repeating: pad, count: width - n)
                targets += t.dropFirst() + Array(repeating: pad, count: width - n)
                mask += counts.dropFirst().map { $0 ? Float(1) : 0 } + Array(repeating: 0, count: width - n)
            }
            model.forward(TokenBatch(tokens: tokens, batch: rows.count, time: width))
            let counted = Double(mask.reduce(0, +))
            guard counted > 0 else { continue }
            nll += Double(model.crossEntropy(targets: targets, lossMask: mask, computeGradient: false)) * counted
            count += counted
        }
        return TextStatistics.perplexity(totalNLL: nll, tokens: Int(count))
    }
}
