import Foundation

/// Measures WordPiece encoding throughput on a BERT-Chinese-sized setup: a 21,128-token vocabulary
/// (every CJK Unified Ideograph, `##` continuations, ASCII words and pieces) and deterministic mixed
/// Chinese/English review-like texts. benchmarks/tokenizer/tokenizers_wordpiece.py times the `tokenizers`
/// package on the very same files (`writeInputs`), single-threaded.
public enum WordPieceBenchmark {
    public struct Result: Sendable {
        public var texts: Int
        public var bytes: Int
        public var tokens: Int
        /// Median, min seconds of one pass over all texts.
        public var median: Double, min: Double
        public var tokensPerSecond: Double { Double(tokens) / median }
        public var megabytesPerSecond: Double { Double(bytes) / median / 1e6 }
    }

    /// A deterministic vocabulary the size of bert-base-chinese's (21,128): specials at BERT's ids
    /// ([UNK] 100 … [MASK] 103), ASCII and its `##` pieces, some words, then CJK ideographs in code order.
    public static func vocabulary() -> [String] {
        var v = ["[PAD]"] + (1...99).map { "[unused\($0)]" } + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        v += (0x21...0x7E).map { String(UnicodeScalar(UInt8($0))) }
        v += (0x21...0x7E).map { "##" + String(UnicodeScalar(UInt8($0))) }
        v += Array("，。！？、；：“”‘’（）《》【】…—～·").map(String.init)
        v += words + words.map { "##" + $0 }
        v += (0x4E00...0x9FFF).compactMap { Unicode.Scalar(UInt32($0)).map { String($0) } }
        var seen = Set<String>()
        v = v.filter { seen.insert($0).inserted }  // single letters are also in `words`
        return Array(v.prefix(21_128))  // the last ~240 (rarest) ideographs do not fit
    }

    static let words = ["the", "movie", "was", "very", "good", "bad", "great", "phone", "delivery", "slow", "fast",
                        "service", "quality", "price", "ok", "iphone", "apple", "play", "ing", "ed", "er", "ly",
                        "s", "un", "able", "wifi", "app", "ios", "android", "vip", "pro", "max", "mini"]

    static let han = Array("的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家"
        + "十用发天如然作方成者多日都三小二无同么经法当起与好看学进种将还分此心前面又定见只主没公从电影很收货感觉实话真购物总体验推荐"
        + "失望般值得满意差劲次再价格买东西质量快递服务态度包装便宜贵喜欢讨厌非常特别行垃圾手机屏幕电池系统速度卡顿拍照效果声音清晰颜色")
    static let punctuation = Array("，。！？、：…")

    /// Deterministic texts: Chinese clauses with punctuation, some English words, numbers and emoji.
    public static func texts(count: Int = 20_000, seed: UInt64 = 1) -> [String] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next(_ n: Int) -> Int {  // xorshift64*: reproducible across platforms
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return Int((state &* 0x2545_F491_4F6C_DD1D) >> 33) % n
        }
        return (0..<count).map { _ in
            var s = ""
            for _ in 0..<(2 + next(5)) {
                switch next(10) {
                case 0: s += " " + words[next(words.count)].capitalized + " " + words[next(words.count)] + " "
                case 1: s += String(next(10_000)) + (next(2) == 0 ? "元" : "%")
                case 2: s += ["😀", "👍", "🎉", "iPhone13", "WiFi", "APP"][next(6)]
                default: for _ in 0..<(3 + next(12)) { s.append(han[next(han.count)]) }
                }
                s.append(punctuation[next(punctuation.count)])
            }
            return s
        }
    }

    /// The benchmark tokenizer: `BertTokenizerFast`'s pipeline with lowercase off (as the Chinese GPT-2).
    public static func tokenizer() throws -> PretrainedTokenizer {
        let vocab = vocabulary()
        let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { t in vocab.firstIndex(of: t).map { AddedToken(id: Int32($0), content: t, special: true) } }
        let wp = try WordPieceTokenizer(vocabulary: vocab, normalizer: BertNormalizer(lowercase: false), addedTokens: specials)
        return try PretrainedTokenizer(model: .wordPiece(wp), names: .bert, source: "benchmark")
    }

    /// Writes the tokenizer folder and `texts.jsonl` (one JSON string per line) for the Python side.
    public static func writeInputs(directory: String, tokenizer: PretrainedTokenizer, texts: [String]) throws {
        try tokenizer.save(directory: directory + "/tokenizer", modelMaxLength: 512)
        let lines = texts.map { JSONFields.quoted($0) }.joined(separator: "\n") + "\n"
        try Data(lines.utf8).write(to: URL(fileURLWithPath: directory + "/texts.jsonl"))
    }

    /// Encodes every text `repeats` times (after one warm-up pass); one pass = one timing.
    public static func run(_ tokenizer: PretrainedTokenizer, texts: [String], repeats: Int = 5) -> Result {
        var tokens = 0
        for t in texts { tokens += tokenizer.encode(t).count }
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            var sink = 0
            for t in texts { sink &+= tokenizer.encode(t).count }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            precondition(sink == tokens)  // same work every pass (and the result is used)
        }
        times.sort()
        return Result(texts: texts.count, bytes: texts.reduce(0) { $0 + $1.utf8.count }, tokens: tokens,
                      median: times[times.count / 2], min: times[0])
    }
}
