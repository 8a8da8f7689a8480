/// Canonical JSON written straight into UTF-8 bytes: the same text as `JSONText` (same escapes:
/// `\"`, `\\`, `\n`, `\r`, `\t`, other controls, DEL, U+2028 and U+2029 as lowercase `\u00xx`),
/// without building a string scalar by scalar (record encoding is the hot loop of an import).
enum JSONBytes {
    private static let hex = Array("0123456789abcdef".utf8)

    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        out.append(0x22)
        var text = text
        text.withUTF8 { bytes in
            var i = 0
            var runStart = 0
            func escape(_ escaped: [UInt8], skip: Int) {
                out.append(contentsOf: bytes[runStart..<i])
                out.append(contentsOf: escaped)
                i += skip
                runStart = i
            }
            while i < bytes.count {
                let b = bytes[i]
                switch b {
                case 0x22: escape([0x5C, 0x22], skip: 1)
                case 0x5C: escape([0x5C, 0x5C], skip: 1)
                case 0x0A: escape([0x5C, UInt8(ascii: "n")], skip: 1)
                case 0x0D: escape([0x5C, UInt8(ascii: "r")], skip: 1)
                case 0x09: escape([0x5C, UInt8(ascii: "t")], skip: 1)
                case 0x00..<0x20, 0x7F:
                    escape(Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 0xF)]], skip: 1)
                case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                    escape(Array("\\u202".utf8) + [bytes[i + 2] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9")], skip: 3)
                default:
                    i += 1
                }
            }
            out.append(contentsOf: bytes[runStart..<bytes.count])
        }
        out.append(0x22)
    }

    static func appendKey(_ key: String, to out: inout [UInt8]) {
        appendQuoted(key, to: &out)
        out.append(UInt8(ascii: ":"))
    }

    static func append(_ text: String, to out: inout [UInt8]) {
        out.append(contentsOf: text.utf8)
    }

    /// Lowercase hex of bytes.
    static func appendHex(_ bytes: [UInt8], to out: inout [UInt8]) {
        for b in bytes {
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xF)])
        }
    }
}

extension FieldValue {
    func appendJSON(to out: inout [UInt8]) {
        switch self {
        case .string(let s): JSONBytes.appendQuoted(s, to: &out)
        case .number(let x): JSONBytes.append(JSONText.number(x), to: &out)
        case .bool(let b): JSONBytes.append(b ? "true" : "false", to: &out)
        case .strings(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONBytes.appendQuoted(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }
}

extension ChatMessage {
    func appendJSON(to out: inout [UInt8]) {
        JSONBytes.append("{", to: &out)
        JSONBytes.appendKey("content", to: &out)
        JSONBytes.appendQuoted(content, to: &out)
        JSONBytes.append(",", to: &out)
        JSONBytes.appendKey("role", to: &out)
        JSONBytes.appendQuoted(role, to: &out)
        JSONBytes.append("}", to: &out)
    }
}

extension DatasetRecord {
    /// `jsonLine` as UTF-8 bytes.
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        appendJSON(to: &out)
        return out
    }

    func appendJSON(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        switch self {
        case .text(let s):
            JSONBytes.appendKey("text", to: &out); JSONBytes.appendQuoted(s, to: &out)
        case .labelled(let r):
            JSONBytes.appendKey("label", to: &out); JSONBytes.append(String(r.label), to: &out)
            out.append(UInt8(ascii: ","))
            JSONBytes.appendKey("text", to: &out); JSONBytes.appendQuoted(r.text, to: &out)
        case .promptCompletion(let r):
            JSONBytes.appendKey("completion", to: &out); JSONBytes.appendQuoted(r.completion, to: &out)
            out.append(UInt8(ascii: ","))
            JSONBytes.appendKey("fields", to: &out); Self.appendFields(r.fields, to: &out)
            if let messages = r.messages {
                out.append(UInt8(ascii: ","))
                JSONBytes.appendKey("messages", to: &out); Self.appendMessages(messages, to: &out)
            }
        case .preference(let r):
            JSONBytes.appendKey("chosen", to: &out); JSONBytes.appendQuoted(r.chosen, to: &out)
            out.append(UInt8(ascii: ","))
            JSONBytes.appendKey("fields", to: &out); Self.appendFields(r.fields, to: &out)
            if let margin = r.margin {
                out.append(UInt8(ascii: ","))
                JSONBytes.appendKey("margin", to: &out); JSONBytes.append(JSONText.number(margin), to: &out)
            }
            if let messages = r.messages {
                out.append(UInt8(ascii: ","))
                JSONBytes.appendKey("messages", to: &out); Self.appendMessages(messages, to: &out)
            }
            out.append(UInt8(ascii: ","))
            JSONBytes.appendKey("rejected", to: &out); JSONBytes.appendQuoted(r.rejected, to: &out)
        case .prompt(let fields, let messages):
            JSONBytes.appendKey("fields", to: &out); Self.appendFields(fields, to: &out)
            if let messages {
                out.append(UInt8(ascii: ","))
                JSONBytes.appendKey("messages", to: &out); Self.appendMessages(messages, to: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    /// A fields map as canonical JSON (keys in UTF-8 byte order).
    static func appendFields(_ fields: [String: FieldValue], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (i, name) in fields.keys.sorted(by: { $0.utf8Precedes($1) }).enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONBytes.appendKey(name, to: &out)
            fields[name]!.appendJSON(to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    static func appendMessages(_ messages: [ChatMessage], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, message) in messages.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            message.appendJSON(to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }
}
