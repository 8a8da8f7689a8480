import Foundation
import Tokenizer

/// `tokenise`: trains a byte-level BPE on the train split only, writes it as `tokenizer.json` (Hugging
/// Face format) and encodes every split into token files (`TokenFile`).
public enum TokeniseStage: BuiltinStage {
    public static let kind = "tokenise"

    /// The stage's params (docs and defaults in stages/tokenise.yaml), checked.
    static func settings(_ p: StageParams) throws -> (vocabSize: Int, minFrequency: Int, eosToken: String?) {
        let vocabSize = try p.int("vocab_size")
        guard vocabSize >= 258 + 1 else { throw StageError.badParam("vocab_size", "must be at least 259 (256 bytes + 2 special tokens + 1 merge)") }
        guard vocabSize <= 1 << 20 else { throw StageError.badParam("vocab_size", "must be at most 1048576") }
        let eos = try p.string("eos_token")
        return (vocabSize, try p.int("min_frequency"), eos.isEmpty ? nil : eos)
    }

    public static func checkParams(_ params: StageParams) throws { _ = try settings(params) }

    public static func run(_ context: StageContext) throws {
        let data = try context.inputPath("data")
        let tokenizerDir = try context.outputPath("tokenizer")
        let tokensDir = try context.outputPath("tokens")
        let (vocabSize, minFrequency, eosToken) = try settings(context.params)

        var splits: [(String, [LabelledRecord])] = []
        for name in LabelledRecordFile.splits { splits.append((name, try LabelledRecordFile.read(split: name, in: data))) }
        let train = splits.first { $0.0 == "train" }!.1
        guard !train.isEmpty else { throw StageError.badInput("data", "the train split is empty") }

        let tokenizer: PretrainedTokenizer
        if let pretrained = try? context.inputPath("pretrained") {
            // A pretrained model's own tokenizer (BPE or WordPiece), so its embeddings fit the token ids.
            do { tokenizer = try PretrainedTokenizer.load(directory: pretrained, endOfText: eosToken) } catch {
                throw StageError.badInput("pretrained", "\(error)")
            }
            context.log("tokenise: using the tokenizer of \(pretrained) (vocab \(tokenizer.vocabSize), end of text id \(tokenizer.endOfTextId)); vocab_size and min_frequency are not used")
        } else {
            if eosToken != nil { throw StageError.badParam("eos_token", "applies to a `pretrained` tokenizer; a trained BPE ends texts with <|endoftext|>") }
            context.progress(phase: "train BPE", step: 0, total: nil, message: "\(train.count) reviews → vocab \(vocabSize)")
            let start = DispatchTime.now().uptimeNanoseconds
            let bpe = BPETrainer(vocabSize: vocabSize, minFrequency: minFrequency).train(train.map(\.text))
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            context.log("tokenise: trained BPE on \(train.count) train reviews in \(String(format: "%.2f", seconds)) s: "
                + "vocab \(bpe.vocabSize), \(bpe.merges.count) merges")
            if bpe.vocabSize < vocabSize {
                context.log("tokenise: stopped at vocab \(bpe.vocabSize) < \(vocabSize): no pair occurs \(minFrequency)+ times")
            }
            tokenizer = PretrainedTokenizer(bpe)
        }
        try tokenizer.save(directory: tokenizerDir)

        var summary: [(String, String)] = []
        for (i, (name, records)) in splits.enumerated() {
            context.progress(phase: "encode", step: i, total: splits.count, message: name)
            let encoded = records.map { tokenizer.encode($0.text, allowSpecial: false) }
            let file = TokenFile(vocabSize: tokenizer.vocabSize, records: encoded, labels: records.map { UInt8($0.label) })
            try file.write(to: tokensDir + "/" + name + ".tok")
            let chars = records.reduce(0) { $0 + $1.text.count }
            context.log("tokenise: \(name): \(records.count) records, \(file.tokens.count) tokens "
                + "(\(String(format: "%.2f", Double(chars) / Double(max(file.tokens.count, 1)))) characters per token)")
            summary.append((name, JSONText.object([("records", String(records.count)), ("tokens", String(file.tokens.count))])))
        }
        let manifest = JSONText.object([
            ("vocab_size", String(tokenizer.vocabSize)), ("eos_id", String(tokenizer.endOfTextId)),
            ("pad_id", String(tokenizer.padId)), ("splits", JSONText.object(summary)),
        ])
        try Data((manifest + "\n").utf8).write(to: URL(fileURLWithPath: tokensDir + "/tokens.json"), options: .atomic)
    }
}
