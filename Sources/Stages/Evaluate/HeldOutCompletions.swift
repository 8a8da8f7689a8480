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
}
