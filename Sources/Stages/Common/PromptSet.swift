import Tokenizer

/// The prompts an RL stage (ppo, grpo) samples from, each as `[EOS] + tokens`: the fixed ones and the
/// records of a prompt dataset, both through the prompt template (a fixed prompt is the field `prompt`),
/// then `corpusPrompts` openings of `promptTokens` tokens from the train split's token file.
public struct PromptSet: Sendable {
    public struct Prompt: Sendable {
        /// `[EOS] + tokens`, cut to the model's window keeping the end.
        public var tokens: [Int32]
        /// The prompt's dataset columns, for rewards that check against them (an answer, a category).
        public var fields: [String: FieldValue]
        /// The prompt's class where one is known (a corpus opening's review label, a dataset's `label`
        /// column of 0 or 1), so that an evaluation can report its figures per class.
        public var label: Int?
    }

    public var prompts: [Prompt] = []

    /// Every prompt's tokens, in order.
    public var tokens: [[Int32]] { prompts.map(\.tokens) }

    public static func build(fixed: [String], corpusPrompts wanted: Int, promptTokens length: Int,
                             records: TemplatedRecords, train: TokenFile?, dataset: DatasetReader? = nil,
                             split: String = "train", datasetLimit: Int = .max, maxTokens: Int) throws -> PromptSet {
        let eos = records.tokenizer.endOfTextId
        var set = PromptSet()
        func add(_ prompt: [Int32], _ fields: [String: FieldValue], label: Int? = nil) {
            // Long prompts keep their end (where the question is) within the model's window.
            set.prompts.append(Prompt(tokens: ModelArtifacts.withBOS(prompt.suffix(max(1, maxTokens - 1)), eos: eos),
                                      fields: fields, label: label))
        }
        for text in fixed {
            // Rendered as the field `prompt`; a fixed prompt carries no dataset columns for rewards.
            let fields: [String: FieldValue] = ["prompt": .string(text)]
            add(try TemplatedRecords.located("classic_prompts") { try records.promptTokens(.prompt(fields: fields, messages: nil)) }, [:])
        }
        if let dataset {
            try dataset.require([.prompt, .promptCompletion, .preference], input: "prompts")
            // At most datasetLimit records, evenly spaced over the split (ordered by content hash).
            let count = dataset.manifest.count(of: split) ?? 0
            let stride = max(1, count / max(min(datasetLimit, count), 1))
            var index = 0, taken = 0
            try dataset.forEachRecord(in: split) { record in
                index += 1
                guard (index - 1) % stride == 0, taken < datasetLimit else { return }
                taken += 1
                let label: Int? = switch record.fields["label"] {
                case .number(0)?, .bool(false)?: 0
                case .number(1)?, .bool(true)?: 1
                default: nil
                }
                add(try TemplatedRecords.located("\(split).jsonl record \(index)") { try records.promptTokens(record) }, record.fields,
                    label: label)
            }
        }
        if wanted > 0, let train {
            let eligible = (0..<train.count).filter { train.record($0).count > length }
            // Evenly spaced over the file (ordered by content hash, so effectively a random sample).
            let stride = max(1, eligible.count / max(wanted, 1))
            for k in 0..<min(wanted, eligible.count) {
                let record = eligible[k * stride], label = train.labels[record]
                add(Array(train.record(record).prefix(length)), [:], label: label <= 1 ? Int(label) : nil)
            }
        }
        guard !set.prompts.isEmpty else {
            throw StageError.badParam("classic_prompts", "no prompts: give `classic_prompts`, wire a `prompts` dataset, or wire `tokens` with corpus_prompts > 0")
        }
        return set
    }

    /// Every field any prompt carries, sorted: the columns rewards may read.
    public var columnNames: [String] { Set(prompts.flatMap(\.fields.keys)).sorted() }

    /// The fields as reward columns, one value per prompt (null where a prompt lacks the field).
    public var rewardColumns: [String: [RewardJSON]] {
        var columns: [String: [RewardJSON]] = [:]
        for name in columnNames {
            columns[name] = prompts.map { prompt in
                switch prompt.fields[name] {
                case .string(let s)?: .string(s)
                case .number(let x)?: .number(x)
                case .bool(let b)?: .bool(b)
                case .strings(let items)?: .array(items.map(RewardJSON.string))
                case nil: .null
                }
            }
        }
        return columns
    }

    /// The prompts of an RL stage from its inputs: the template (its `template` param, else the one
    /// stored with the policy), the optional `prompts` dataset's train split, and the corpus openings.
    public static func forStage(_ context: StageContext, fixed: [String], corpusPrompts: Int, promptTokens: Int,
                                tokenizer: PretrainedTokenizer, policyDir: String, train: TokenFile?,
                                maxTokens: Int) throws -> (PromptSet, PromptTemplate) {
        let template = try TemplateFile.resolve(context.params, storedWith: policyDir)
        let dataset = try (try? context.inputPath("prompts")).map { try DatasetReader(directory: $0) }
        let set = try build(fixed: fixed, corpusPrompts: corpusPrompts, promptTokens: promptTokens,
                            records: TemplatedRecords(template: template, tokenizer: tokenizer), train: train,
                            dataset: dataset, maxTokens: maxTokens)
        if dataset != nil { context.log("\(context.kind): template \(JSONText.quoted(template.text))") }
        return (set, template)
    }
}
