import Foundation
import JSONQuoting

/// Any `tokenizer.json` pipeline the two fast paths (GPT-2's byte-level BPE, BERT's WordPiece) refuse,
/// step for step as `tokenizers` 0.23 runs it: added tokens matched in the raw text → normalizer →
/// added tokens matched in the normalised text → pre-tokenizer → model (BPE or WordPiece) per piece;
/// decoding: token strings → decoder. The post-processor is not applied (pipe adds its own end of text).
/// `save` writes the user's `tokenizer.json` back byte for byte.
public struct TokenizerPipeline: Sendable {
    enum Model: Sendable {
        case bpe(PipelineBPE)
        case wordPiece(WordPieceTokenizer)
    }

    let normalizer: PipelineNormalizer?
    let preTokenizer: PipelinePreTokenizer?
    let model: Model
    let decoder: PipelineDecoder?
    public let addedTokens: [AddedToken]
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// The string of each id (model vocabulary, then added tokens over it); nil where no token has the id.
    let tokenOfId: [String?]
    let isAddedId: [Bool]
    let isSpecialId: [Bool]
    /// The contents of the special tokens: `tokenizers` skips any token with such a string.
    let specialContents: Set<[UInt8]>
    /// The file as read, written back unchanged.
    public let json: Data

    public var vocabSize: Int { tokenOfId.count }

    public init(data: Data, file: String) throws {
        try self.init(root: JSONFields.object(data, file: file), data: data, file: file)
    }

    init(root: JSONValue, data: Data, file: String) throws {
        let r = PipelineJSON(file: file)
        json = data
        normalizer = try JSONFields.isNull(root["normalizer"]) ? nil : PipelineNormalizer(json: root["normalizer"]!, path: "normalizer", reader: r)
        preTokenizer = try JSONFields.isNull(root["pre_tokenizer"]) ? nil
            : PipelinePreTokenizer(json: root["pre_tokenizer"]!, path: "pre_tokenizer", reader: r)
        decoder = try JSONFields.isNull(root["decoder"]) ? nil : PipelineDecoder(json: root["decoder"]!, path: "decoder", reader: r)
        guard let modelJSON = root["model"], modelJSON.members != nil else { throw r.fail("missing \"model\" object") }
        guard let vocab = modelJSON["vocab"]?.members else { throw r.fail("model.vocab must be an object {token: id}") }
        var idOf: [[UInt8]: Int32] = [:]
        var tokens: [String?] = []
        for member in vocab {
            guard let id = JSONFields.int(member.value), id >= 0, id < 10_000_000 else {
                throw r.fail("model.vocab[\(quoted(member.key))] must be a non-negative integer id, got \(member.value.quotedForMessage)")
            }
            if id >= tokens.count { tokens += [String?](repeating: nil, count: id + 1 - tokens.count) }
            if let other = tokens[id] { throw r.fail("model.vocab gives id \(id) to both \(quoted(other)) and \(quoted(member.key))") }
            tokens[id] = member.key
            idOf[Array(member.key.utf8)] = Int32(id)
        }
        let type = modelJSON["type"]?.string
        switch type {
        case "BPE":
            model = .bpe(try PipelineBPE(model: modelJSON, vocab: idOf, reader: r))
        case "WordPiece":
            guard !tokens.contains(nil) else { throw r.fail("model.vocab ids must run from 0 without gaps") }
            let vocabulary = tokens.map { $0! }
            let unk = try r.string(modelJSON, "unk_token", "model", default: "[UNK]")
            do {
                model = .wordPiece(try WordPieceTokenizer(
                    vocabulary: vocabulary, unkToken: unk,
                    continuingSubwordPrefix: try r.string(modelJSON, "continuing_subword_prefix", "model", default: "##"),
                    maxInputCharsPerWord: try r.int(modelJSON, "max_input_chars_per_word", "model", default: 100),
                    normalizer: nil, addedTokens: [], decoder: nil))
            } catch let error as WordPieceTokenizer.ConfigurationError {
                throw r.fail("\(error)")
            }
        default:
            throw r.fail("model.type is \(modelJSON["type"]?.quotedForMessage ?? "missing"); supported: \"BPE\" and \"WordPiece\"")
        }

        var added: [AddedToken] = []
        if !JSONFields.isNull(root["added_tokens"]) {
            guard let items = root["added_tokens"]?.array else { throw r.fail("added_tokens must be a list") }
            for (i, t) in items.enumerated() {
                guard let id = JSONFields.int(t["id"]), id >= 0, id < 10_000_000, let content = t["content"]?.string else {
                    throw r.fail("added_tokens[\(i)] needs a non-negative integer \"id\" and a string \"content\"")
                }
                let special = t["special"]?.bool ?? false
                added.append(AddedToken(id: Int32(id), content: content, special: special, singleWord: t["single_word"]?.bool ?? false,
                                        lstrip: t["lstrip"]?.bool ?? false, rstrip: t["rstrip"]?.bool ?? false,
                                        normalized: t["normalized"]?.bool ?? !special))
            }
        }
        addedTokens = added
        var isAdded = [Bool](repeating: false, count: tokens.count)
        for t in added {
            let id = Int(t.id)
            if id >= tokens.count {
                tokens += [String?](repeating: nil, count: id + 1 - tokens.count)
                isAdded += [Bool](repeating: false, count: id + 1 - isAdded.count)
            }
            tokens[id] = t.content
            isAdded[id] = true
        }
        tokenOfId = tokens
        isAddedId = isAdded
        var special = [Bool](repeating: false, count: tokens.count)
        for t in added where t.special { special[Int(t.id)] = true }
        isSpecialId = special
        specialContents = Set(added.filter(\.special).map { Array($0.content.utf8) })
        let normalizer = self.normalizer
        let forms = added.map { t in t.normalized ? (normalizer?.normalize(PipelineJSON.scalars(t.content)) ?? PipelineJSON.scalars(t.content))
            : PipelineJSON.scalars(t.content) }
        rawMatcher = AddedTokenMatcher(zip(forms, added).filter { !$0.1.normalized }.map { ($0.0, $0.1) })
        normalizedMatcher = AddedTokenMatcher(zip(forms, added).filter { $0.1.normalized }.map { ($0.0, $0.1) })
    }

    /// The id of a token: an added token's, else the model vocabulary's.
    public func id(of token: String) -> Int32? {
        if let t = addedTokens.first(where: { $0.content.utf8.elementsEqual(token.utf8) }) { return t.id }
        let bytes = Array(token.utf8)
        return tokenOfId.firstIndex { $0.map { Array($0.utf8) == bytes } ?? false }.map(Int32.init)
    }

    public func specialId(_ content: String) -> Int32? {
        addedTokens.first { $0.special && $0.content.utf8.elementsEqual(content.utf8) }?.id
    }

    public func tokenString(_ id: Int32) -> String { id >= 0 && Int(id) < tokenOfId.count ? tokenOfId[Int(id)] ?? "" : "" }

    // MARK: Encoding

    public func encode(_ text: String, allowSpecial: Bool = true) -> [Int32] {
        var ids: [Int32] = []
        let raw = PipelineJSON.scalars(text)
        var rawPieces: [AddedTokenMatcher.Piece] = []
        rawMatcher.split(raw, 0..<raw.count, allowSpecial: allowSpecial, into: &rawPieces)
        var pieces: [AddedTokenMatcher.Piece] = []
        for piece in rawPieces {
            guard case let .text(range) = piece else {
                if case let .token(id) = piece { ids.append(id) }
                continue
            }
            let (normalized, keepsStart) = normalizer?.normalizeTrackingStart(Array(raw[range])) ?? (Array(raw[range]), true)
            pieces.removeAll(keepingCapacity: true)
            normalizedMatcher.split(normalized, 0..<normalized.count, allowSpecial: allowSpecial, into: &pieces)
            for p in pieces {
                switch p {
                case let .token(id): ids.append(id)
                case let .text(r):
                    guard !r.isEmpty else { continue }
                    let start = PipelinePreTokenizer.Piece(scalars: Array(normalized[r]), atStart: range.lowerBound == 0 && r.lowerBound == 0 && keepsStart)
                    for word in preTokenizer?.apply([start]) ?? [start] { encodeWord(word.scalars, into: &ids) }
                }
            }
        }
        return ids
    }

    private func encodeWord(_ word: [UInt32], into ids: inout [Int32]) {
        switch model {
        case let .bpe(bpe): bpe.encode(word, into: &ids)
        case let .wordPiece(wp):
            var bytes: [UInt8] = []
            wp.encodeWord(word, 0..<word.count, bytes: &bytes, into: &ids)
        }
    }

    // MARK: Decoding

    public func decode(_ ids: some Sequence<Int32>, skipSpecial: Bool = false) -> String {
        var tokens: [String] = []
        for id in ids {
            guard id >= 0 && Int(id) < tokenOfId.count, let token = tokenOfId[Int(id)] else { continue }
            if skipSpecial && specialContents.contains(Array(token.utf8)) { continue }
            tokens.append(token)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens)
    }
}
