/// How a dataset record becomes the prompt text a model sees: `"Human: {prompt}\nAssistant: "`,
/// Alpaca's `"{instruction}{#input}\n{input}{/input}\n"`, or chat turns rendered with role markers.
///
/// Syntax: `{name}` is the record's field `name`; `{#name}…{/name}` is kept only when `name` is present
/// and non-empty (Alpaca's optional input); `{{` and `}}` are literal braces; `{messages}` renders the
/// record's chat turns, each as its role's marker + content + `separator`, and then the assistant marker
/// (the generation prompt). One template is applied by SFT, the RM, PPO, evaluate and `pipe sample`,
/// and travels with the model (`prompt_template.json`).
public struct PromptTemplate: Sendable, Equatable {
    public let text: String
    /// Chat role markers by role name (`user` → `"Human: "`).
    public let roles: [String: String]
    /// Written after every chat turn.
    public let separator: String
    let segments: [Segment]

    indirect enum Segment: Sendable, Equatable {
        case literal(String)
        case field(String)
        case section(String, [Segment])
        case messages
    }

    /// The template that uses a record's `prompt` field as it is.
    public static let plain = try! PromptTemplate("{prompt}")

    /// `{messages}` with this template's role markers and separator: how a chat record renders under
    /// the default template.
    public var chat: PromptTemplate {
        PromptTemplate(text: "{messages}", roles: roles, separator: separator, segments: [.messages])
    }

    private init(text: String, roles: [String: String], separator: String, segments: [Segment]) {
        self.text = text
        self.roles = roles
        self.separator = separator
        self.segments = segments
    }

    public init(_ text: String, roles: [String: String] = PromptTemplate.defaultRoles, separator: String = "\n") throws {
        self.text = text
        self.roles = roles
        self.separator = separator
        var parser = Parser(characters: Array(text))
        segments = try parser.parse(until: nil)
        guard roles["assistant"] != nil || !Self.usesMessages(segments) else {
            throw TemplateError.invalid("chat templates need an `assistant` role marker (the generation prompt)")
        }
    }

    public static let defaultRoles = ["system": "System: ", "user": "Human: ", "assistant": "Assistant: "]

    /// Every field the template reads (sections included), sorted.
    public var fieldNames: [String] {
        var names = Set<String>()
        func visit(_ s: [Segment]) {
            for segment in s {
                switch segment {
                case let .field(n): names.insert(n)
                case let .section(n, inner): names.insert(n); visit(inner)
                case .literal, .messages: break
                }
            }
        }
        visit(segments)
        return names.sorted()
    }

    public var usesMessages: Bool { Self.usesMessages(segments) }

    static func usesMessages(_ segments: [Segment]) -> Bool {
        segments.contains { s in
            switch s {
            case .messages: true
            case let .section(_, inner): usesMessages(inner)
            default: false
            }
        }
    }

    /// Renders one record. A field the template names but the record lacks is an error naming it.
    public func render(fields: [String: String], messages: [ChatMessage] = []) throws -> String {
        var out = ""
        try render(segments, fields: fields, messages: messages, into: &out)
        return out
    }

    private func render(_ segments: [Segment], fields: [String: String], messages: [ChatMessage], into out: inout String) throws {
        for segment in segments {
            switch segment {
            case let .literal(s): out += s
            case let .field(name):
                guard let value = fields[name] else {
                    let known = fields.keys.sorted().joined(separator: ", ")
                    throw TemplateError.missingField(name, known: known)
                }
                out += value
            case let .section(name, inner):
                if let value = fields[name], !value.isEmpty {
                    try render(inner, fields: fields, messages: messages, into: &out)
                }
            case .messages:
                for turn in messages {
                    guard let marker = roles[turn.role] else {
                        throw TemplateError.unknownRole(turn.role, known: roles.keys.sorted().joined(separator: ", "))
                    }
                    out += marker + turn.content + separator
                }
                out += roles["assistant"] ?? ""
            }
        }
    }

    struct Parser {
        let characters: [Character]
        var index = 0

        init(characters: [Character]) { self.characters = characters }

        mutating func parse(until closing: String?) throws -> [Segment] {
            var segments: [Segment] = []
            var literal = ""
            func flush() { if !literal.isEmpty { segments.append(.literal(literal)); literal = "" } }
            while index < characters.count {
                let c = characters[index]
                if c == "}" {
                    guard index + 1 < characters.count, characters[index + 1] == "}" else {
                        throw TemplateError.invalid("a lone `}` at character \(index + 1) (write `}}` for a literal brace)")
                    }
                    literal.append("}"); index += 2; continue
                }
                guard c == "{" else { literal.append(c); index += 1; continue }
                if index + 1 < characters.count, characters[index + 1] == "{" { literal.append("{"); index += 2; continue }
                let start = index
                guard let end = characters[index...].firstIndex(of: "}") else {
                    throw TemplateError.invalid("`{` at character \(start + 1) is never closed (write `{{` for a literal brace)")
                }
                let body = String(characters[(index + 1)..<end])
                index = end + 1
                if body.hasPrefix("#") {
                    let name = try Self.checkedName(String(body.dropFirst()), at: start)
                    flush()
                    segments.append(.section(name, try parse(until: name)))
                } else if body.hasPrefix("/") {
                    let name = String(body.dropFirst())
                    guard closing == name else {
                        throw TemplateError.invalid("`{/\(name)}` at character \(start + 1) closes no open `{#\(name)}`")
                    }
                    flush()
                    return segments
                } else if body == "messages" {
                    flush(); segments.append(.messages)
                } else {
                    flush(); segments.append(.field(try Self.checkedName(body, at: start)))
                }
            }
            if let closing { throw TemplateError.invalid("`{#\(closing)}` is never closed with `{/\(closing)}`") }
            flush()
            return segments
        }

        static func checkedName(_ name: String, at position: Int) throws -> String {
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }) else {
                throw TemplateError.invalid("`{\(name)}` at character \(position + 1) is not a field name (letters, digits, _ - .)")
            }
            return name
        }
    }
}

public enum TemplateError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    case missingField(String, known: String)
    case unknownRole(String, known: String)

    public var description: String {
        switch self {
        case let .invalid(why): "template: \(why)"
        case let .missingField(name, known):
            "template: the record has no field `\(name)` (its fields: \(known.isEmpty ? "none" : known)); map a column to it in the dataset stage or change the template"
        case let .unknownRole(role, known):
            "template: chat role `\(role)` has no marker (known: \(known)); add it to chat_roles"
        }
    }
}
