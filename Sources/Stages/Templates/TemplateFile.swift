import Foundation

/// `prompt_template.json` in a model folder: the template the model was trained with, so every later
/// stage, `pipe sample` and an exported folder prompt it the same way.
public enum TemplateFile {
    public static let name = "prompt_template.json"

    public static func save(_ template: PromptTemplate, to directory: String) throws {
        let roles = template.roles.keys.sorted().map { ($0, JSONText.quoted(template.roles[$0]!)) }
        let text = JSONText.object([("roles", JSONText.object(roles)), ("separator", JSONText.quoted(template.separator)),
                                    ("template", JSONText.quoted(template.text))])
        try Data((text + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/" + name), options: .atomic)
    }

    /// The template stored in `directory`, or nil when the folder has none (models trained before
    /// templates, or imported from elsewhere).
    public static func load(from directory: String) throws -> PromptTemplate? {
        let path = directory + "/" + name
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        struct Stored: Decodable { let template: String; let roles: [String: String]; let separator: String }
        do {
            let stored = try JSONDecoder().decode(Stored.self, from: try Data(contentsOf: URL(fileURLWithPath: path)))
            return try PromptTemplate(stored.template, roles: stored.roles, separator: stored.separator)
        } catch {
            throw StageError.failed("\(path): \(error) — expected {\"template\": …, \"roles\": {…}, \"separator\": …}")
        }
    }

    /// The template a stage applies: its `template` param when set, else the one stored with `model`
    /// (the policy or init it starts from), else `{prompt}`.
    public static func resolve(_ params: StageParams, storedWith model: String?) throws -> PromptTemplate {
        let text = try params.string("template")
        if text.isEmpty, let model, let stored = try load(from: model) { return stored }
        var roles: [String: String] = [:]
        for entry in try params.strings("chat_roles") {
            guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else {
                throw StageError.badParam("chat_roles", "`\(entry)` is not role=marker (e.g. \"user=Human: \")")
            }
            roles[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        do {
            return try PromptTemplate(text.isEmpty ? "{prompt}" : text, roles: roles, separator: try params.string("chat_separator"))
        } catch {
            throw StageError.badParam("template", "\(error)")
        }
    }
}
