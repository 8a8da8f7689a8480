import JSONQuoting
/// The shape of the source rows a `dataset` stage reads (`format` param).
public enum RowFormat: String, Sendable, CaseIterable {
    /// Detect from the first row (`DatasetSettings.detect`).
    case auto
    /// The kind's own columns: text; text + label; prompt + completion; prompt + chosen + rejected; prompt.
    case columns
    /// `{instruction, input, output}` (input optional): prompt-completion.
    case alpaca
    /// `{messages: [{role, content}]}`, the last turn from the assistant: prompt-completion.
    case chat
    /// `{chosen, rejected}` sharing their prompt as a common prefix: preference.
    case implicit
    /// `{instruction, input, output: [chosen, rejected]}`: preference.
    case chatglm
    /// `{prompt, responses: [best, ..., worst]}`, expanded to every ordered pair: preference.
    case ranked

    /// The formats a kind accepts besides `auto`.
    static func accepted(by kind: DatasetKind) -> [RowFormat] {
        switch kind {
        case .text, .labelled, .prompt: return [.columns]
        case .promptCompletion: return [.columns, .alpaca, .chat]
        case .preference: return [.columns, .implicit, .chatglm, .ranked]
        }
    }
}

/// Why a source row cannot become a record: `reason` is the stats.json counter, `message` the
/// error text after the `file:line: ` prefix, `hint` how to fix the data or the params.
public struct RowError: Error, Equatable {
    public var reason: String
    public var message: String
    public var hint: String?

    public init(reason: String, message: String, hint: String? = nil) {
        self.reason = reason
        self.message = message
        self.hint = hint
    }
}

/// The column names a `dataset` stage maps (params `*_column`).
public struct ColumnMap: Sendable, Equatable {
    public var text = "text", label = "label", prompt = "prompt", completion = "completion"
    public var chosen = "chosen", rejected = "rejected", messages = "messages", responses = "responses"
    public var instruction = "instruction", input = "input", output = "output"
    /// Empty: no margin.
    public var margin = ""

    public init() {}
}

/// Turns one source row (a JSON object) into records of a kind, normalising text.
struct RowMapper {
    let kind: DatasetKind
    let format: RowFormat
    let columns: ColumnMap
    let normalise: (String) -> String

    /// The records of one row (a ranked row gives one per ordered pair; every other row one).
    func records(_ row: JSONValue) throws(RowError) -> [DatasetRecord] {
        guard case .object(let members) = row else {
            throw RowError(reason: "not_an_object", message: "expected a JSON object, found \(row.typeName)")
        }
        if let error = otherShape(members) { throw error }
        switch (kind, format) {
        case (.text, _):
            return [.text(try text(members, columns.text, param: "text_column"))]
        case (.labelled, _):
            let label = try self.label(members)
            return [.labelled(LabelledRecord(text: try text(members, columns.text, param: "text_column"), label: label))]
        case (.prompt, _):
            if let turns = try promptTurns(members) {
                return [.prompt(fields: try fields(members, excluding: [columns.prompt]), messages: turns)]
            }
            _ = try string(members, columns.prompt, param: "prompt_column")
            return [.prompt(fields: try fields(members, excluding: []))]
        case (.promptCompletion, .alpaca):
            _ = try string(members, columns.instruction, param: "instruction_column")
            var fields = try self.fields(members, excluding: [columns.output])
            if value(members, columns.input) == nil { fields[columns.input] = .string("") }
            else { _ = try string(members, columns.input, param: "input_column") }
            return [.promptCompletion(PromptCompletionRecord(fields: fields, completion: try text(members, columns.output, param: "output_column")))]
        case (.promptCompletion, .chat):
            let (turns, last) = try chat(members)
            return [.promptCompletion(PromptCompletionRecord(fields: try fields(members, excluding: [columns.messages]),
                                                       messages: turns, completion: last))]
        case (.promptCompletion, _):
            let turns = try promptTurns(members)
            if turns == nil { _ = try string(members, columns.prompt, param: "prompt_column") }
            let excluded = turns == nil ? [columns.completion] : [columns.prompt, columns.completion]
            return [.promptCompletion(PromptCompletionRecord(fields: try fields(members, excluding: excluded), messages: turns,
                                                       completion: try response(members, columns.completion, param: "completion_column")))]
        case (.preference, .ranked):
            _ = try string(members, columns.prompt, param: "prompt_column")
            let fields = try self.fields(members, excluding: [columns.responses])
            return try pairs(try responses(members, columns.responses, param: "responses_column"), fields: fields, margin: nil)
        case (.preference, .chatglm):
            _ = try string(members, columns.instruction, param: "instruction_column")
            var fields = try self.fields(members, excluding: [columns.output, columns.margin])
            if value(members, columns.input) == nil { fields[columns.input] = .string("") }
            else { _ = try string(members, columns.input, param: "input_column") }
            return try pairs(try responses(members, columns.output, param: "output_column"), fields: fields, margin: try margin(members))
        case (.preference, .implicit):
            if let chosenTurns = try turns(members, columns.chosen), let rejectedTurns = try turns(members, columns.rejected) {
                return [try implicitChat(members, chosenTurns, rejectedTurns)]
            }
            let chosen = try text(members, columns.chosen, param: "chosen_column")
            let rejected = try text(members, columns.rejected, param: "rejected_column")
            guard chosen != rejected else {
                throw RowError(reason: "identical_responses", message: "field \"\(columns.chosen)\": the same text as \"\(columns.rejected)\" (a pair needs two different responses)")
            }
            let (prompt, chosenRest, rejectedRest) = Self.extractPrompt(chosen: chosen, rejected: rejected)
            guard !chosenRest.isEmpty, !rejectedRest.isEmpty else {
                let field = chosenRest.isEmpty ? columns.chosen : columns.rejected
                throw RowError(reason: "empty_field", message: "field \"\(field)\": nothing left after the prompt shared with the other response (one response is a prefix of the other)")
            }
            var fields = try self.fields(members, excluding: [columns.chosen, columns.rejected, columns.margin])
            fields["prompt"] = .string(prompt)
            return [.preference(PreferenceRecord(fields: fields, chosen: chosenRest, rejected: rejectedRest, margin: try margin(members)))]
        case (.preference, _):
            let turns = try promptTurns(members)
            if turns == nil { _ = try string(members, columns.prompt, param: "prompt_column") }
            let chosen = try response(members, columns.chosen, param: "chosen_column")
            let rejected = try response(members, columns.rejected, param: "rejected_column")
            guard chosen != rejected else {
                throw RowError(reason: "identical_responses", message: "field \"\(columns.chosen)\": the same text as \"\(columns.rejected)\" (a pair needs two different responses)")
            }
            let fields = try self.fields(members, excluding: [columns.chosen, columns.rejected, columns.margin] + (turns == nil ? [] : [columns.prompt]))
            return [.preference(PreferenceRecord(fields: fields, messages: turns, chosen: chosen, rejected: rejected, margin: try margin(members)))]
        }
    }

    /// Rows of a TRL dataset type this kind does not take, named as such instead of as a missing column
    /// (or, for unpaired preferences, instead of being learnt as completions).
    private func otherShape(_ members: [JSONMember]) -> RowError? {
        let has = { (name: String) in value(members, name) != nil }
        // LLaMA-Factory's alpaca rows carry earlier turns as `history: [[query, answer], ...]`: the
        // template has no place for them, and dropping them would train replies without their context.
        if format == .alpaca || format == .chatglm, case .array(let turns)? = value(members, "history"), !turns.isEmpty {
            return RowError(reason: "unsupported_history", message: "field \"history\": \(turns.count) earlier turn\(turns.count == 1 ? "" : "s"), "
                + "which format \(format.rawValue) has no place for (they would be dropped)",
                hint: "write such rows as chat messages ({\"\(columns.messages)\": [{role, content}, ...]}) for kind prompt-completion")
        }
        switch kind {
        case .text, .labelled:
            guard !has(columns.text), has(columns.messages) else { return nil }
            return RowError(reason: "missing_field", message: "field \"\(columns.text)\": missing; the row is a conversation (\"\(columns.messages)\")",
                            hint: "import conversations with kind: prompt-completion (the last assistant turn is the completion)")
        case .preference where format != .ranked && format != .chatglm:
            if !has(columns.chosen), has(columns.completion), has(columns.label) {
                return RowError(reason: "unpaired_preference", message: "field \"\(columns.chosen)\": missing; the row is an unpaired preference "
                    + "(\(columns.prompt), \(columns.completion), \(columns.label): TRL's KTO format), not a pair of responses to one prompt",
                    hint: "pair a desired and an undesired completion of the same prompt into chosen and rejected, "
                        + "or import the label-true rows as kind: prompt-completion")
            }
            if !has(columns.chosen), has("completions"), has("labels") { return stepwise(missing: columns.chosen) }
            return nil
        case .promptCompletion where format == .columns || format == .auto:
            if !has(columns.completion), has("completions"), has("labels") { return stepwise(missing: columns.completion) }
            // TRL's unpaired preference rows: `label: false` marks a completion not to learn.
            if has(columns.completion), case .bool(false)? = value(members, columns.label) {
                return RowError(reason: "undesired_completion", message: "field \"\(columns.label)\": false, the completion is an undesired one "
                    + "(TRL's unpaired preference format); supervised fine-tuning would learn it",
                    hint: "keep only the label-true rows")
            }
            return nil
        default:
            return nil
        }
    }

    private func stepwise(missing name: String) -> RowError {
        RowError(reason: "stepwise_supervision", message: "field \"\(name)\": missing; the row is stepwise supervision "
            + "(\(columns.prompt), completions, labels: TRL's PRM format), which no dataset kind takes",
            hint: "turn the steps into prompt-completion or preference rows")
    }

    /// TRL's `extract_prompt` for strings: the longest common prefix is the prompt, moved back by one
    /// character when it ends just after a space (so the responses keep their leading space).
    static func extractPrompt(chosen: String, rejected: String) -> (prompt: String, chosen: String, rejected: String) {
        let a = Array(chosen), b = Array(rejected)
        var index = 0
        while index < min(a.count, b.count), a[index] == b[index] { index += 1 }
        if index > 0, index < min(a.count, b.count), a[index - 1] == " " { index -= 1 }
        return (String(a[..<index]), String(a[index...]), String(b[index...]))
    }

    // MARK: Columns

    private func value(_ members: [JSONMember], _ name: String) -> JSONValue? {
        guard let v = members.first(where: { $0.key == name })?.value else { return nil }
        if case .null = v { return nil }
        return v
    }

    private func missing(_ name: String, param: String) -> RowError {
        RowError(reason: "missing_field", message: "field \"\(name)\": missing", hint: "map another column with \(param)")
    }

    private func wrongType(_ name: String, expected: String, found: JSONValue, param: String) -> RowError {
        RowError(reason: "wrong_type", message: "field \"\(name)\": expected \(expected), found \(found.typeName)",
                 hint: "map another column with \(param)")
    }

    /// A mapped string column, normalised.
    private func string(_ members: [JSONMember], _ name: String, param: String) throws(RowError) -> String {
        guard let v = value(members, name) else { throw missing(name, param: param) }
        guard case .string(let s) = v else { throw wrongType(name, expected: "a string", found: v, param: param) }
        return normalise(s)
    }

    /// A mapped string column that must not be empty after normalisation (a text or a response).
    private func text(_ members: [JSONMember], _ name: String, param: String) throws(RowError) -> String {
        let s = try string(members, name, param: param)
        guard !s.isEmpty else { throw RowError(reason: "empty_field", message: "field \"\(name)\": empty") }
        return s
    }

    private func label(_ members: [JSONMember]) throws(RowError) -> Int {
        guard let v = value(members, columns.label) else { throw missing(columns.label, param: "label_column") }
        switch v {
        case .number(let x) where x == 0 || x == 1: return Int(x)
        case .bool(let b): return b ? 1 : 0
        case .number: throw RowError(reason: "bad_label", message: "field \"\(columns.label)\": expected 0 or 1, found \(JSONText.number({ if case .number(let x) = v { return x }; return 0 }()))")
        default: throw wrongType(columns.label, expected: "0 or 1", found: v, param: "label_column")
        }
    }

    private func margin(_ members: [JSONMember]) throws(RowError) -> Double? {
        guard !columns.margin.isEmpty else { return nil }
        guard let v = value(members, columns.margin) else { throw missing(columns.margin, param: "margin_column") }
        guard case .number(let x) = v else { throw wrongType(columns.margin, expected: "a number", found: v, param: "margin_column") }
        return x
    }

    /// A list of at least two distinct non-empty responses, best first.
    private func responses(_ members: [JSONMember], _ name: String, param: String) throws(RowError) -> [String] {
        guard let v = value(members, name) else { throw missing(name, param: param) }
        guard case .array(let items) = v else { throw wrongType(name, expected: "a list of responses (best first)", found: v, param: param) }
        var responses: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else {
                throw RowError(reason: "wrong_type", message: "field \"\(name)\": item \(i): expected a string, found \(item.typeName)")
            }
            let text = normalise(s)
            guard !text.isEmpty else { throw RowError(reason: "empty_field", message: "field \"\(name)\": item \(i): empty") }
            guard !responses.contains(text) else {
                throw RowError(reason: "identical_responses", message: "field \"\(name)\": item \(i) repeats an earlier response")
            }
            responses.append(text)
        }
        guard responses.count >= 2 else {
            throw RowError(reason: "too_few_responses", message: "field \"\(name)\": \(responses.count) response\(responses.count == 1 ? "" : "s"), a preference needs at least 2 (best first)")
        }
        return responses
    }

    /// Every ordered pair of a best-first list: response i is preferred to response j for i < j.
    private func pairs(_ responses: [String], fields: [String: FieldValue], margin: Double?) throws(RowError) -> [DatasetRecord] {
        var records: [DatasetRecord] = []
        for i in 0..<responses.count {
            for j in (i + 1)..<responses.count {
                records.append(.preference(PreferenceRecord(fields: fields, chosen: responses[i], rejected: responses[j], margin: margin)))
            }
        }
        return records
    }

    // MARK: Conversational columns (TRL: a column holding `[{"role": …, "content": …}, ...]`)

    /// The chat turns of a column, or nil when it does not hold a list of messages.
    private func turns(_ members: [JSONMember], _ name: String) throws(RowError) -> [ChatMessage]? {
        guard let v = value(members, name), case .array(let items) = v, case .object? = items.first else { return nil }
        var turns: [ChatMessage] = []
        for (i, item) in items.enumerated() { turns.append(try message(item, index: i, field: name)) }
        return turns
    }

    /// One `{role, content}` message; `content` may also be a list of parts (`[{"type": "text", "text": …}]`,
    /// the form chat templates and multimodal datasets use), whose text parts are joined.
    private func message(_ item: JSONValue, index i: Int, field name: String) throws(RowError) -> ChatMessage {
        let shape = "expected {\"role\": string, \"content\": string or a list of text parts}"
        guard case .string(let role)? = item["role"] else {
            throw RowError(reason: "bad_message", message: "field \"\(name)\": message \(i): \(shape)")
        }
        switch item["content"] {
        case .string(let content)?:
            return ChatMessage(role: normalise(role), content: normalise(content))
        case .array(let parts)?:
            var text = ""
            for (j, part) in parts.enumerated() {
                guard case .string(let type)? = part["type"], type == "text", case .string(let piece)? = part["text"] else {
                    let type = part["type"]?.string.map { "a \"\($0)\" part" } ?? "not a {\"type\": \"text\", \"text\": string} part"
                    throw RowError(reason: "bad_message", message: "field \"\(name)\": message \(i): content part \(j) is \(type); only text is read")
                }
                text += piece
            }
            return ChatMessage(role: normalise(role), content: normalise(text))
        case .null?, nil:
            guard item["tool_calls"] == nil else {
                throw RowError(reason: "bad_message", message: "field \"\(name)\": message \(i): a tool call (\"tool_calls\" without content); tool calls are not read")
            }
            throw RowError(reason: "bad_message", message: "field \"\(name)\": message \(i): \(shape)")
        default:
            throw RowError(reason: "bad_message", message: "field \"\(name)\": message \(i): \(shape)")
        }
    }

    /// A conversational prompt column: its turns (nil when the prompt is not a list of messages).
    private func promptTurns(_ members: [JSONMember]) throws(RowError) -> [ChatMessage]? {
        guard let turns = try turns(members, columns.prompt) else { return nil }
        if let last = turns.last, last.role == "assistant" {
            throw RowError(reason: "bad_message", message: "field \"\(columns.prompt)\": the prompt ends with an assistant turn (the response belongs in its own column)")
        }
        return turns
    }

    /// A response column: a string, or one assistant turn (`[{"role": "assistant", "content": …}]`).
    /// A string response keeps its leading whitespace (normalised as between two words): TRL's standard
    /// rows are `{"prompt": "The sky is", "completion": " blue."}`, trained as prompt + completion.
    private func response(_ members: [JSONMember], _ name: String, param: String) throws(RowError) -> String {
        guard let turns = try turns(members, name) else {
            let body = try text(members, name, param: param)
            guard case .string(let raw)? = value(members, name),
                  let first = raw.unicodeScalars.firstIndex(where: { !$0.properties.isWhitespace }), first > raw.unicodeScalars.startIndex
            else { return body }
            let boundary = normalise("a" + String(raw.unicodeScalars[..<first]) + "a")
            return String(boundary.dropFirst().dropLast()) + body
        }
        guard turns.count == 1, turns[0].role == "assistant" else {
            throw RowError(reason: "bad_message", message: "field \"\(name)\": expected one assistant turn, found \(turns.count) message\(turns.count == 1 ? "" : "s") from \(turns.map { "\"\($0.role)\"" }.joined(separator: ", "))")
        }
        guard !turns[0].content.isEmpty else { throw RowError(reason: "empty_field", message: "field \"\(name)\": the assistant's reply is empty") }
        return turns[0].content
    }

    /// TRL's implicit conversational pair: two whole conversations whose common leading turns are the
    /// prompt; what follows in each must be one assistant turn.
    private func implicitChat(_ members: [JSONMember], _ chosen: [ChatMessage], _ rejected: [ChatMessage]) throws(RowError) -> DatasetRecord {
        var shared = 0
        while shared < min(chosen.count, rejected.count), chosen[shared] == rejected[shared] { shared += 1 }
        for (name, turns) in [(columns.chosen, chosen), (columns.rejected, rejected)] {
            let rest = turns[shared...]
            guard rest.count == 1, rest.first!.role == "assistant", !rest.first!.content.isEmpty else {
                throw RowError(reason: "bad_message", message: "field \"\(name)\": after the \(shared) turn\(shared == 1 ? "" : "s") shared with the other response, expected one non-empty assistant turn, found \(rest.count) turn\(rest.count == 1 ? "" : "s")")
            }
        }
        guard shared > 0 else {
            throw RowError(reason: "bad_message", message: "field \"\(columns.chosen)\": no turn shared with \"\(columns.rejected)\" (nothing to prompt with)")
        }
        // The shared turns are the prompt: a string prompt column beside them is not kept (TRL replaces it).
        let fields = try self.fields(members, excluding: [columns.chosen, columns.rejected, columns.margin, columns.prompt])
        return .preference(PreferenceRecord(fields: fields, messages: Array(chosen[..<shared]), chosen: chosen[shared].content,
                                            rejected: rejected[shared].content, margin: try margin(members)))
    }

    /// Earlier turns and the final assistant reply of a chat row.
    private func chat(_ members: [JSONMember]) throws(RowError) -> ([ChatMessage], String) {
        let name = columns.messages
        guard let v = value(members, name) else { throw missing(name, param: "messages_column") }
        guard case .array(let items) = v else { throw wrongType(name, expected: "a list of {role, content} messages", found: v, param: "messages_column") }
        var turns: [ChatMessage] = []
        for (i, item) in items.enumerated() { turns.append(try message(item, index: i, field: name)) }
        guard let last = turns.last, last.role == "assistant" else {
            throw RowError(reason: "bad_message", message: "field \"\(name)\": the last message must be from \"assistant\" (it is the completion to learn)")
        }
        guard turns.count >= 2 else {
            throw RowError(reason: "bad_message", message: "field \"\(name)\": no message before the assistant's reply (nothing to prompt with)")
        }
        guard !last.content.isEmpty else { throw RowError(reason: "empty_field", message: "field \"\(name)\": the assistant's reply is empty") }
        return (Array(turns.dropLast()), last.content)
    }

    /// The row's other columns as fields (strings normalised). Values that are not strings,
    /// numbers, booleans or lists of strings (objects, nested lists, null) are left out.
    private func fields(_ members: [JSONMember], excluding: [String]) throws(RowError) -> [String: FieldValue] {
        var fields: [String: FieldValue] = [:]
        for member in members where !excluding.contains(member.key) {
            switch FieldValue(member.value) {
            case .string(let s)?: fields[member.key] = .string(normalise(s))
            case .strings(let items)?: fields[member.key] = .strings(items.map(normalise))
            case let other?: fields[member.key] = other
            case nil: continue
            }
        }
        return fields
    }
}
