/// The kinds of dataset a `dataset` stage writes (`dataset.json`'s `kind`).
public enum DatasetKind: String, Sendable, CaseIterable {
    /// `{"text": s}`: plain text for language-model pre-training.
    case text
    /// `{"label": 0|1, "text": s}`: what tokenise, judge and rm-pairs read.
    case labelled
    /// `{"completion": s, "fields": {...}}` (+ `"messages"` for chat data): SFT.
    case promptCompletion = "prompt-completion"
    /// `{"chosen": s, "fields": {...}, "rejected": s}` (+ `"margin"`): reward models, DPO.
    case preference
    /// `{"fields": {...}}`: prompts for PPO/GRPO and evaluation, extra columns kept.
    case prompt
}

/// A column value kept in a record's `fields`: the types a template or a rule reward can use.
public enum FieldValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case strings([String])

    /// Canonical JSON (numbers in `JSONText.number` form: integral values without a fraction).
    public var json: String {
        switch self {
        case .string(let s): return JSONText.quoted(s)
        case .number(let x): return JSONText.number(x)
        case .bool(let b): return b ? "true" : "false"
        case .strings(let items): return "[" + items.map(JSONText.quoted).joined(separator: ",") + "]"
        }
    }

    /// The value as template text: strings as they are, numbers and booleans in JSON form, lists joined by newlines.
    public var text: String {
        switch self {
        case .string(let s): return s
        case .strings(let items): return items.joined(separator: "\n")
        default: return json
        }
    }
}

/// One turn of a chat conversation.
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    var json: String {
        var out: [UInt8] = []
        appendJSON(to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// A prompt and the completion to learn. Chat data keeps the earlier turns in `messages` (the
/// completion is the last assistant turn); instruction data keeps its prompt columns in `fields`.
public struct PromptCompletionRecord: Sendable, Equatable {
    public var fields: [String: FieldValue]
    /// Earlier turns of a chat conversation; nil for non-chat data.
    public var messages: [ChatMessage]?
    public var completion: String

    public init(fields: [String: FieldValue], messages: [ChatMessage]? = nil, completion: String) {
        self.fields = fields
        self.messages = messages
        self.completion = completion
    }
}

/// A prompt with a better (`chosen`) and a worse (`rejected`) response. Conversational data keeps
/// the prompt's chat turns in `messages` (the responses are the assistant's next turn).
public struct PreferenceRecord: Sendable, Equatable {
    public var fields: [String: FieldValue]
    /// The prompt's chat turns; nil for non-chat data.
    public var messages: [ChatMessage]?
    public var chosen: String
    public var rejected: String
    /// How much better chosen is, when the source has a margin column.
    public var margin: Double?

    public init(fields: [String: FieldValue], messages: [ChatMessage]? = nil, chosen: String, rejected: String, margin: Double? = nil) {
        self.fields = fields
        self.messages = messages
        self.chosen = chosen
        self.rejected = rejected
        self.margin = margin
    }
}

/// One record of a dataset artifact; the case matches the dataset's kind. A conversational prompt
/// (TRL's `[{role, content}, ...]`) is kept as chat turns in `messages`.
public enum DatasetRecord: Sendable, Equatable {
    case text(String)
    case labelled(LabelledRecord)
    case promptCompletion(PromptCompletionRecord)
    case preference(PreferenceRecord)
    case prompt(fields: [String: FieldValue], messages: [ChatMessage]? = nil)

    public var kind: DatasetKind {
        switch self {
        case .text: return .text
        case .labelled: return .labelled
        case .promptCompletion: return .promptCompletion
        case .preference: return .preference
        case .prompt: return .prompt
        }
    }

    /// The prompt-side columns (empty for `text` and `labelled`).
    public var fields: [String: FieldValue] {
        switch self {
        case .text, .labelled: return [:]
        case .promptCompletion(let r): return r.fields
        case .preference(let r): return r.fields
        case .prompt(let fields, _): return fields
        }
    }

    /// The prompt's chat turns (nil for non-chat records).
    public var messages: [ChatMessage]? {
        switch self {
        case .text, .labelled: return nil
        case .promptCompletion(let r): return r.messages
        case .preference(let r): return r.messages
        case .prompt(_, let messages): return messages
        }
    }

    /// Every piece of text in the record, in a fixed order (fields by name, then messages, then
    /// the responses): what a tokenizer trains on.
    public var texts: [String] {
        let fieldTexts = fields.keys.sorted { $0.utf8Precedes($1) }.compactMap { name -> String? in
            switch fields[name] {
            case .string(let s)?: return s
            case .strings(let items)?: return items.joined(separator: "\n")
            default: return nil
            }
        }
        switch self {
        case .text(let s): return [s]
        case .labelled(let r): return [r.text]
        case .promptCompletion(let r): return fieldTexts + (r.messages ?? []).map(\.content) + [r.completion]
        case .preference(let r): return fieldTexts + (r.messages ?? []).map(\.content) + [r.chosen, r.rejected]
        case .prompt(_, let messages): return fieldTexts + (messages ?? []).map(\.content)
        }
    }

    /// The record as one canonical JSON line (keys sorted, no trailing newline).
    public var jsonLine: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// A fields map as canonical JSON (keys in UTF-8 byte order).
    public static func fieldsJSON(_ fields: [String: FieldValue]) -> String {
        var out: [UInt8] = []
        appendFields(fields, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    /// Ordering by UTF-8 bytes: the order of keys in every file a dataset stage writes.
    func utf8Precedes(_ other: String) -> Bool { self.utf8.lexicographicallyPrecedes(other.utf8) }
}
