import Foundation
import JSONQuoting

/// The `normalizer` of a `tokenizer.json` (`tokenizers` 0.23), applied to each stretch of text between
/// added tokens. Unicode scalars in, scalars out; alignment is not tracked (pipe needs only the ids).
indirect enum PipelineNormalizer: Sendable {
    case sequence([PipelineNormalizer])
    case nfd, nfc, nfkd, nfkc
    case lowercase
    case stripAccents
    case strip(left: Bool, right: Bool)
    case replace(pattern: [UInt32], content: [UInt32])
    case prepend([UInt32])
    case bert(BertNormalizer)

    init(json value: JSONValue, path: String, reader r: PipelineJSON) throws {
        let type = try r.type(value, path)
        switch type {
        case "Sequence":
            self = .sequence(try r.list(value, "normalizers", path).enumerated().map {
                try PipelineNormalizer(json: $0.element, path: "\(path).normalizers[\($0.offset)]", reader: r)
            })
        case "NFD": self = .nfd
        case "NFC": self = .nfc
        case "NFKD": self = .nfkd
        case "NFKC": self = .nfkc
        case "Lowercase": self = .lowercase
        case "StripAccents": self = .stripAccents
        case "Strip":
            self = .strip(left: try r.bool(value, "strip_left", path, default: true), right: try r.bool(value, "strip_right", path, default: true))
        case "Replace":
            guard case let .literal(pattern) = try r.pattern(value, path), !pattern.isEmpty else {
                throw r.fail("\(path).pattern must be a non-empty {\"String\": …} (a regex Replace is not supported)")
            }
            self = .replace(pattern: pattern, content: PipelineJSON.scalars(try r.string(value, "content", path)))
        case "Prepend": self = .prepend(PipelineJSON.scalars(try r.string(value, "prepend", path)))
        case "BertNormalizer":
            var strip: Bool?
            if let s = value["strip_accents"], !JSONFields.isNull(s) {
                guard let b = s.bool else { throw r.fail("\(path).strip_accents must be true, false or null") }
                strip = b
            }
            self = .bert(BertNormalizer(cleanText: try r.bool(value, "clean_text", path, default: true),
                                        handleChineseChars: try r.bool(value, "handle_chinese_chars", path, default: true),
                                        stripAccents: strip, lowercase: try r.bool(value, "lowercase", path, default: true)))
        default:
            throw r.fail("\(path).type \(quoted(type)) is not supported (supported normalizers: Sequence, NFD, NFC, NFKD, NFKC, "
                + "Lowercase, StripAccents, Strip, Replace with a string pattern, Prepend, BertNormalizer)")
        }
    }

    /// The normalised text, and whether its first character still comes from the input's first (false
    /// when leading characters were deleted: Metaspace's prepend_scheme "first" then adds no "▁", because
    /// `tokenizers` checks the original offset of the piece).
    func normalizeTrackingStart(_ input: [UInt32]) -> (text: [UInt32], keepsStart: Bool) {
        if case let .sequence(steps) = self {
            var text = input, keeps = true
            for step in steps {
                let (next, k) = step.normalizeTrackingStart(text)
                text = next
                keeps = keeps && k
            }
            return (text, keeps)
        }
        guard let first = input.first else { return (input, true) }
        let keeps: Bool
        switch self {
        case .stripAccents, .bert: keeps = !normalize([first]).isEmpty  // a deleted mark or control character
        case let .strip(left, _): keeps = !(left && isRustWhitespace(first))
        case let .replace(pattern, content): keeps = !(content.isEmpty && input.starts(with: pattern))
        default: keeps = true
        }
        return (normalize(input), keeps)
    }

    func normalize(_ input: [UInt32]) -> [UInt32] {
        switch self {
        case let .sequence(steps): return steps.reduce(input) { $1.normalize($0) }
        case .nfd: return UnicodeNormalization.normalize(input, .nfd)
        case .nfc: return UnicodeNormalization.normalize(input, .nfc)
        case .nfkd: return UnicodeNormalization.normalize(input, .nfkd)
        case .nfkc: return UnicodeNormalization.normalize(input, .nfkc)
        case .lowercase:
            // Character by character (Rust's char::to_lowercase): no final-sigma context.
            var out: [UInt32] = []
            out.reserveCapacity(input.count)
            for c in input {
                if c < 0x80 { out.append(c >= 0x41 && c <= 0x5A ? c + 0x20 : c); continue }
                guard let s = Unicode.Scalar(c) else { continue }
                out += s.properties.lowercaseMapping.unicodeScalars.map(\.value)
            }
            return out
        case .stripAccents:
            return input.filter { c in
                guard c >= 0x300, let s = Unicode.Scalar(c) else { return true }
                switch s.properties.generalCategory {
                case .nonspacingMark, .spacingMark, .enclosingMark: return UnicodeClassOverrides.contains(UnicodeClassOverrides.notCombiningMarks, c)
                default: return !UnicodeClassOverrides.contains(UnicodeClassOverrides.combiningMarks, c)
                }
            }
        case let .strip(left, right):
            var lower = 0, upper = input.count
            if left { while lower < upper && isRustWhitespace(input[lower]) { lower += 1 } }
            if right { while upper > lower && isRustWhitespace(input[upper - 1]) { upper -= 1 } }
            return Array(input[lower..<upper])
        case let .replace(pattern, content):
            var out: [UInt32] = []
            for m in SplitPattern.literal(pattern).matches(input) {
                if m.isMatch { out += content } else { out += input[m.range] }
            }
            return out
        case let .prepend(prefix): return input.isEmpty ? input : prefix + input
        case let .bert(n):
            var out: [UInt32] = []
            n.normalize(input, into: &out)
            return out
        }
    }
}

/// Rust's `char::is_whitespace` (Unicode White_Space).
func isRustWhitespace(_ c: UInt32) -> Bool {
    if c < 0x80 { return c == 0x20 || (c >= 0x09 && c <= 0x0D) }
    return Unicode.Scalar(c)?.properties.isWhitespace ?? false
}
