import Foundation
import Models
import Tokenizer

/// `tokenise`: trains a byte-level BPE on the train split only (the text of any dataset kind), writes it
/// as `tokenizer.json` (Hugging Face format) and encodes the documents of every split into token files
/// (`TokenFile`).
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

        let source = try TokeniseSource(directory: data)
        let pool = WorkerPool(threads: context.threads)
        let train = source.trainingTexts
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
            context.progress(phase: "train BPE", step: 0, total: nil, message: "\(train.count) texts → vocab \(vocabSize)")
            let start = DispatchTime.now().uptimeNanoseconds
            let bpe = trainBPE(train, vocabSize: vocabSize, minFrequency: minFrequency, pool: pool)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            context.log("tokenise: trained BPE on \(train.count) train texts in \(String(format: "%.2f", seconds)) s: "
                + "vocab \(bpe.vocabSize), \(bpe.merges.count) merges")
            if bpe.vocabSize < vocabSize {
                context.log("tokenise: stopped at vocab \(bpe.vocabSize) < \(vocabSize): no pair occurs \(minFrequency)+ times")
            }
            tokenizer = PretrainedTokenizer(bpe)
        }
        try tokenizer.save(directory: tokenizerDir)

        var summary: [(String, String)] = []
        // Token files hold documents (text and labelled data); prompt, completion and preference
        // records are tokenised by the stages that read them, through the prompt template.
        for (i, (name, records)) in source.documentSplits.enumerated() {
            context.progress(phase: "encode", step: i, total: source.documentSplits.count, message: name)
            let encoded = encodeAll(records.map(\.text), with: tokenizer, pool: pool)
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

    /// The BPE that `tokenise` trains on `texts`; `pool` only changes the time, never the result.
    static func trainBPE(_ texts: [String], vocabSize: Int, minFrequency: Int, pool: WorkerPool) -> BPETokenizer {
        BPETrainer(vocabSize: vocabSize, minFrequency: minFrequency).train(words: countWords(texts, pool: pool))
    }

    /// Texts per shard of word counting and encoding: fixed, so the shards are the same at any thread count.
    static let textsPerShard = 2048

    /// The words of `texts`, counted shard by shard in parallel and added up in shard order: the same
    /// words in the same order as one pass, at any thread count.
    static func countWords(_ texts: [String], pool: WorkerPool, textsPerShard: Int = Self.textsPerShard) -> BPEWordCounts {
        let shards = (texts.count + textsPerShard - 1) / textsPerShard
        var counted = [BPEWordCounts?](repeating: nil, count: shards)
        counted.withUnsafeMutableBufferPointer { out in
            let slots = out.baseAddress!
            pool.run(tasks: shards) { shard in
                var words = BPEWordCounts()
                words.add(texts: texts[(shard * textsPerShard)..<min(texts.count, (shard + 1) * textsPerShard)])
                slots[shard] = words
            }
        }
        guard var words = counted.first ?? nil else { return BPEWordCounts() }
        for shard in counted.dropFirst() { if let shard { words.add(shard) } }
        return words
    }

    /// Token ids of each text (special-token text encoded as ordinary text), in order; the same at any
    /// thread count (each text is encoded on its own).
    static func encodeAll(_ texts: [String], with tokenizer: PretrainedTokenizer, pool: WorkerPool,
                          textsPerShard: Int = Self.textsPerShard) -> [[Int32]] {
        let shards = (texts.count + textsPerShard - 1) / textsPerShard
        var encoded = [[Int32]](repeating: [], count: texts.count)
        encoded.withUnsafeMutableBufferPointer { out in
            let slots = out.baseAddress!
            pool.run(tasks: shards) { shard in
                let range = (shard * textsPerShard)..<min(texts.count, (shard + 1) * textsPerShard)
                if case .byteLevelBPE(let bpe) = tokenizer.model {
                    var cache = BPEPieceCache()
                    for i in range { slots[i] = bpe.encodeOrdinary(texts[i], cache: &cache) }
                } else {
                    for i in range { slots[i] = tokenizer.encode(texts[i], allowSpecial: false) }
                }
            }
        }
        return encoded
    }
}

/// What `tokenise` reads: `prepare`'s labelled splits, or a dataset artifact of any kind.
struct TokeniseSource {
    /// Every text of the train split, in file order: what the BPE trains on.
    var trainingTexts: [String] = []
    /// Splits of documents (text and labelled data; a text record is labelled 0) for token files.
    var documentSplits: [(String, [LabelledRecord])] = []

    init(directory: String) throws {
        guard FileManager.default.fileExists(atPath: directory + "/" + DatasetManifest.fileName) else {
            for name in LabelledRecordFile.splits {
                documentSplits.append((name, try LabelledRecordFile.read(split: name, in: directory)))
            }
            trainingTexts = documentSplits.first { $0.0 == "train" }?.1.map(\.text) ?? []
            return
        }
        let dataset = try DatasetReader(directory: directory)
        guard dataset.splits.contains("train") else { throw StageError.badInput("data", "the dataset has no train split") }
        for split in dataset.splits {
            var documents: [LabelledRecord] = []
            try dataset.forEachRecord(in: split) { record in
                if split == "train" { trainingTexts += record.texts }
                switch record {
                case .text(let text): documents.append(LabelledRecord(text: text, label: 0))
                case .labelled(let r): documents.append(r)
                default: break
                }
            }
            if dataset.kind == .text || dataset.kind == .labelled { documentSplits.append((split, documents)) }
        }
    }
}
