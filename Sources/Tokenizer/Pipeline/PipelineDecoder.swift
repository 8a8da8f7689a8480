import JSONQuoting

/// The `decoder` of a `tokenizer.json` (`tokenizers` 0.23): token strings in, strings out (each step's
/// `decode_chain`), joined at the end.
indirect enum PipelineDecoder: Sendable {
    case sequence([PipelineDecoder])
    case byteLevel
    case wordPiece(prefix: String, cleanup: Bool)
    case bpe(suffix: String)
    case metaspace(replacement: UInt32, prepend: PipelinePreTokenizer.MetaspacePrepend)
    case replace(pattern: [UInt32], content: [UInt32])
    case byteFallback
    case fuse
    case strip(content: UInt32, start: Int, stop: Int)

    init(json value: JSONValue, path: String, reader r: PipelineJSON) throws {
        let type = try r.type(value, path)
        switch type {
        case "Sequence":
            self = .sequence(try r.list(value, "decoders", path).enumerated().map {
                try PipelineDecoder(json: $0.element, path: "\(path).decoders[\($0.offset)]", reader: r)
            })
        case "ByteLevel": self = .byteLevel
        case "WordPiece":
            self = .wordPiece(prefix: try r.string(value, "prefix", path, default: "##"), cleanup: try r.bool(value, "cleanup", path, default: true))
        case "BPEDecoder": self = .bpe(suffix: try r.string(value, "suffix", path, default: "</w>"))
        case "Metaspace":
            self = .metaspace(replacement: try r.scalar(value, "replacement", path), prepend: try PipelinePreTokenizer.prependScheme(value, path, r))
        case "Replace":
            guard case let .literal(pattern) = try r.pattern(value, path), !pattern.isEmpty else {
                throw r.fail("\(path).pattern must be a non-empty {\"String\": …} (a regex Replace is not supported)")
            }
            self = .replace(pattern: pattern, content: PipelineJSON.scalars(try r.string(value, "content", path)))
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            self = .strip(content: try r.scalar(value, "content", path), start: try r.int(value, "start", path, default: 0),
                          stop: try r.int(value, "stop", path, default: 0))
        default:
            throw r.fail("\(path).type \(quoted(type)) is not supported (supported decoders: Sequence, ByteLevel, WordPiece, BPEDecoder, "
                + "Metaspace, Replace with a string pattern, ByteFallback, Fuse, Strip)")
        }
    }

    func decode(_ tokens: [String]) -> String { decodeChain(tokens).joined() }

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case let .sequence(steps): return steps.reduce(tokens) { $1.decodeChain($0) }
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens {
                if let raw = ByteLevel.decode(t) { bytes += raw } else { bytes += Array(t.utf8) }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .wordPiece(prefix, cleanup):
            return tokens.enumerated().map { i, token in
                var piece = Array(token.utf8)
                if i != 0 {
                    let p = Array(prefix.utf8)
                    if piece.starts(with: p) { piece.removeFirst(p.count) } else { piece.insert(0x20, at: 0) }
                }
                if cleanup { for (from, to) in WordPieceTokenizer.cleanupReplacements { piece = WordPieceTokenizer.replacing(piece, from, to) } }
                return String(decoding: piece, as: UTF8.self)
            }
        case let .bpe(suffix):
            let s = Array(suffix.utf8)
            return tokens.enumerated().map { i, token in
                // Rust's `str::replace` with an empty pattern puts the replacement around every character.
                if s.isEmpty { return i == tokens.count - 1 ? token : " " + token.unicodeScalars.map { String($0) + " " }.joined() }
                return String(decoding: WordPieceTokenizer.replacing(Array(token.utf8), s, i == tokens.count - 1 ? [] : [0x20]), as: UTF8.self)
            }
        case let .metaspace(replacement, prepend):
            return tokens.enumerated().map { i, token in
                var out: [UInt32] = []
                for c in PipelineJSON.scalars(token) {
                    if c == replacement {
                        if !(i == 0 && prepend != .never) { out.append(0x20) }
                    } else {
                        out.append(c)
                    }
                }
                return stringOfScalars(out)
            }
        case let .replace(pattern, content):
            return tokens.map { token in
                let text = PipelineJSON.scalars(token)
                var out: [UInt32] = []
                for m in SplitPattern.literal(pattern).matches(text) { if m.isMatch { out += content } else { out += text[m.range] } }
                return stringOfScalars(out)
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validating: pending, as: UTF8.self) { out.append(s) } else { out += Array(repeating: "\u{FFFD}", count: pending.count) }
                pending.removeAll()
            }
            for token in tokens {
                let u = Array(token.utf8)
                if u.count == 6 && token.hasPrefix("<0x") && u[5] == UInt8(ascii: ">"), let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out
        case .fuse: return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { token in
                let chars = PipelineJSON.scalars(token)
                var startCut = 0
                for i in 0..<min(start, chars.count) { if chars[i] == content { startCut = i + 1 } else { break } }
                var stopCut = chars.count
                for i in 0..<min(stop, chars.count) {
                    let index = chars.count - i - 1
                    if chars[index] == content { stopCut = index } else { break }
                }
                return stripCutString(chars, startCut, stopCut)
            }
        }
    }
}

private func stripCutString(_ chars: [UInt32], _ start: Int, _ stop: Int) -> String {
    start < stop ? stringOfScalars(chars[start..<stop]) : ""
}
