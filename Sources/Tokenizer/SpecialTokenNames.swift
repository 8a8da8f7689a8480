import Foundation
import JSONQuoting

/// The special-token roles of `tokenizer_config.json` / `special_tokens_map.json` (`bos_token`,
/// `eos_token`, …), by their text. nil: the tokenizer has no token in that role.
public struct SpecialTokenNames: Sendable, Equatable {
    public var bos: String?
    public var eos: String?
    public var unk: String?
    public var sep: String?
    public var pad: String?
    public var cls: String?
    public var mask: String?
    public var additional: [String] = []

    public init(bos: String? = nil, eos: String? = nil, unk: String? = nil, sep: String? = nil, pad: String? = nil,
                cls: String? = nil, mask: String? = nil, additional: [String] = []) {
        self.bos = bos; self.eos = eos; self.unk = unk; self.sep = sep; self.pad = pad; self.cls = cls; self.mask = mask
        self.additional = additional
    }

    /// `BertTokenizer`'s defaults.
    public static let bert = SpecialTokenNames(unk: "[UNK]", sep: "[SEP]", pad: "[PAD]", cls: "[CLS]", mask: "[MASK]")

    static let keys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]

    /// (config key, token) for every role set, in `keys` order, then the additional special tokens.
    public var all: [(key: String, token: String)] {
        let values = [bos, eos, unk, sep, pad, cls, mask]
        return zip(Self.keys, values).compactMap { k, v in v.map { (k, $0) } } + additional.map { ("additional_special_tokens", $0) }
    }

    subscript(key: String) -> String? {
        get {
            switch key {
            case "bos_token": return bos
            case "eos_token": return eos
            case "unk_token": return unk
            case "sep_token": return sep
            case "pad_token": return pad
            case "cls_token": return cls
            case "mask_token": return mask
            default: return nil
            }
        }
        set {
            switch key {
            case "bos_token": bos = newValue
            case "eos_token": eos = newValue
            case "unk_token": unk = newValue
            case "sep_token": sep = newValue
            case "pad_token": pad = newValue
            case "cls_token": cls = newValue
            case "mask_token": mask = newValue
            default: break
            }
        }
    }

    /// Overrides roles from a config object: a string or `{"content": …}` sets a role, `null` clears it,
    /// an absent key keeps the current value.
    mutating func read(_ config: JSONValue, file: String) throws {
        for key in Self.keys {
            guard let value = config[key] else { continue }
            if value.isNull { self[key] = nil; continue }
            guard let token = JSONFields.tokenContent(value) else {
                throw TokenizerFileError(file: file, message: "\(key) must be a string, {\"content\": …} or null, got \(value.quotedForMessage)")
            }
            self[key] = token
        }
        // transformers 5 writes the list as `extra_special_tokens` (a list, or {name: token}); 4 as additional_special_tokens.
        for key in ["extra_special_tokens", "additional_special_tokens"] {
            guard let extra = config[key], !JSONFields.isNull(extra) else { continue }
            let items: [(String, JSONValue)]
            if let list = extra.array {
                items = list.enumerated().map { ("\($0.offset)", $0.element) }
            } else if let members = extra.members {
                items = members.map { (quoted($0.key), $0.value) }
            } else {
                throw TokenizerFileError(file: file, message: "\(key) must be a list")
            }
            additional = try items.map { index, v in
                guard let token = JSONFields.tokenContent(v) else {
                    throw TokenizerFileError(file: file, message: "\(key)[\(index)] must be a string or {\"content\": …}")
                }
                return token
            }
        }
    }

    /// `special_tokens_map.json` text (roles that are set, in a fixed order).
    func mapJSON() -> String {
        var entries = zip(Self.keys, [bos, eos, unk, sep, pad, cls, mask]).compactMap { k, v in
            v.map { "  \(JSONFields.quoted(k)): \(JSONFields.quoted($0))" }
        }
        if !additional.isEmpty {
            entries.append("  \"additional_special_tokens\": [" + additional.map(JSONFields.quoted).joined(separator: ", ") + "]")
        }
        return "{\n" + entries.joined(separator: ",\n") + "\n}\n"
    }
}
