/// A JSON string literal: `"` and `\` escaped, `\n` `\r` `\t` short forms, other control characters
/// (< U+0020) and any scalar in `alsoEscape` as `\uXXXX`; everything else as raw UTF-8. One
/// implementation for every file pipe writes by hand (safetensors headers, tokenizer.json, stage JSON
/// lines), each of which picks its extra escapes.
public func jsonQuoted(_ s: String, alsoEscape: Set<UInt32> = []) -> String {
    var out = "\""
    out.reserveCapacity(s.utf8.count + 2)
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case let c where c.value < 0x20 || alsoEscape.contains(c.value):
            let hex = String(c.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
