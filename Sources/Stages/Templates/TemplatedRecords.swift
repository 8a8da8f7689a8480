import Tokenizer

/// Dataset records rendered through a prompt template and tokenised: the one place where SFT, the RM
/// pairs, PPO, GRPO and evaluate turn a record into token ids, so they all prompt a model alike.
/// Prompt and response are encoded separately (the prompt exactly as at sampling time).
public struct TemplatedRecords: Sendable {
    public let template: PromptTemplate
    public let tokenizer: PretrainedTokenizer

    public init(template: PromptTemplate, tokenizer: PretrainedTokenizer) {
        self.template = template
        self.tokenizer = tokenizer
    }

    /// The prompt text of a record: its fields (and chat turns) through the template. A chat record
    /// has no `prompt` field: under the default template `{prompt}` it renders its turns (`{messages}`).
    public func promptText(_ record: DatasetRecord) throws -> String {
        if record.kind == .text || record.kind == .labelled {
            throw StageError.failed("\(record.kind.rawValue) records have no prompt (use a prompt, prompt-completion or preference dataset)")
        }
        let fields = Self.texts(record.fields)
        guard let messages = record.messages else { return try template.render(fields: fields) }
        if template.text == PromptTemplate.plain.text && fields["prompt"] == nil {
            return try template.chat.render(fields: fields, messages: messages)
        }
        return try template.render(fields: fields, messages: messages)
    }

    public func promptTokens(_ record: DatasetRecord) throws -> [Int32] {
        tokenizer.encode(try promptText(record))
    }

    /// A prompt-completion record as token ids (the completion's text never holds special tokens).
    public func example(_ record: PromptCompletionRecord) throws -> PromptCompletionExample {
        PromptCompletionExample(prompt: try promptTokens(.promptCompletion(record)),
                                completion: tokenizer.encode(record.completion, allowSpecial: false))
    }

    /// Template fields as text (numbers in JSON form, lists one item a line).
    public static func texts(_ fields: [String: FieldValue]) -> [String: String] {
        fields.mapValues(\.text)
    }

    /// Adds the file and line of the record to a template error.
    public static func located<T>(_ place: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as TemplateError {
            throw StageError.failed("\(place()): \(error)")
        }
    }
}
