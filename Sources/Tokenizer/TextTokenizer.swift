/// What the stages need from any tokenizer (pipe's byte-level BPE, a pretrained GPT-2 BPE, BERT WordPiece).
///
/// `encode` gives the plain ids of the text: never [CLS]/[SEP] or another post-processor's tokens — a
/// GPT's BOS/EOS are the stages' business (`endOfTextId`, `padId`).
public protocol TextTokenizer: Sendable {
    /// Number of ids (vocabulary plus added tokens); every id the tokenizer produces is below it.
    var vocabSize: Int { get }
    /// End of text: appended after each document/response, and used as BOS by GPT-2 convention.
    var endOfTextId: Int32 { get }
    /// Padding id (may equal `endOfTextId`).
    var padId: Int32 { get }
    /// Ids of `text`. Special-token text (e.g. `<|endoftext|>`, `[SEP]`) becomes the special id when
    /// `allowSpecial`, otherwise it is encoded as ordinary text.
    func encode(_ text: String, allowSpecial: Bool) -> [Int32]
    /// The text of `ids`; ids outside the vocabulary are dropped, special tokens too when `skipSpecial`.
    func decode(_ ids: some Sequence<Int32>, skipSpecial: Bool) -> String
    /// Id of a special (added) token by its text.
    func specialId(_ content: String) -> Int32?
    /// The vocabulary string of `id` (must be below `vocabSize`).
    func tokenString(_ id: Int32) -> String
    /// Writes the tokenizer files `transformers`' `AutoTokenizer.from_pretrained(directory)` loads.
    func save(directory: String, modelMaxLength: Int) throws
}

extension BPETokenizer: TextTokenizer {}

extension WordPieceTokenizer {
    public func specialId(_ content: String) -> Int32? { addedTokens.first { $0.content == content && $0.special }?.id }
    /// The token's string ("" for an id outside the vocabulary).
    public func tokenString(_ id: Int32) -> String { token(of: id) ?? "" }
}
