import Testing
@testable import Tokenizer

/// The position-indexed trainer, the byte-level pre-tokenizer and the scratch-array encoder against the
/// implementations they replaced (`PreviousBPETrainer`, `PreviousPreTokenizer`) or a naive reference,
/// on corpora generated here: every existing tokenizer artifact and stage key must stay valid.
@Suite("BPE: the same merges and tokens as before")
struct BPEEquivalenceTests {
    /// A seeded linear congruential generator.
    struct Generator {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
    }

    /// Pieces that exercise every rule of the split: apostrophe suffixes, single and repeated spaces,
    /// tabs and line breaks, digits of several kinds, Han, full-width punctuation, combining marks,
    /// emoji with modifiers, no-break and ideographic spaces, astral letters.
    static let alphabet = ["a", "b", "e", "s", "t", "A", "'", "'s", "'ll", "'re", "'ve", "'d", "'m", "'x", " ", "  ", "\n", "\t", "\r\n",
                           "1", "9", "٣", "½", "Ⅻ", "这", "本", "书", "很", "好", "看", "，", "。", "！", "é", "e\u{301}", "👍",
                           "👍🏽", "\u{00A0}", "\u{3000}", "Ω", "ж", "-", "_", "😡", "𠀀", "<|", "|>"]

    static func randomText(_ g: inout Generator, pieces: Int) -> String {
        var s = ""
        for _ in 0..<pieces { s += alphabet[g.next(alphabet.count)] }
        return s
    }

    /// Long Chinese runs with no punctuation (one pre-token each: the worst case for training), short
    /// English words, repeated characters (overlapping pairs) and numbers.
    static func corpus(texts: Int, seed: UInt64) -> [String] {
        var g = Generator(state: seed)
        let han = Array("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经")
        let words = ["the", "model", "review", "answer", "because", "aaaa", "abab", "café", "naïve", "it's", "we'll"]
        var out: [String] = []
        for i in 0..<texts {
            switch g.next(4) {
            case 0, 1:
                let length = 20 + g.next(200)
                out.append(String((0..<length).map { _ in han[min(g.next(han.count), g.next(han.count))] }))
            case 2:
                out.append((0..<(3 + g.next(12))).map { _ in words[g.next(words.count)] }.joined(separator: g.next(5) == 0 ? "\n" : " "))
            default:
                out.append("Task \(i): " + randomText(&g, pieces: 5 + g.next(30)) + " \(g.next(100_000))")
            }
        }
        return out
    }

    @Test func byteLevelPreTokenizerSplitsAsBefore() {
        var g = Generator(state: 7)
        var texts = Self.corpus(texts: 200, seed: 3)
        for _ in 0..<3000 { texts.append(Self.randomText(&g, pieces: g.next(25))) }
        for text in texts {
            // Compared as bytes: String equality would equate "é" with "e\u{301}".
            let now = PreTokenizer.split(text).map { Array($0.utf8) }
            let before = PreviousPreTokenizer.split(text).map { Array($0.utf8) }
            #expect(now == before, "\(Array(text.unicodeScalars))")
        }
    }

    @Test func trainerGivesThePreviousTrainersMerges() {
        let corpus = Self.corpus(texts: 1500, seed: 11)
        for (vocab, minFrequency) in [(1200, 2), (700, 1), (2000, 5)] {
            let now = BPETrainer(vocabSize: vocab, minFrequency: minFrequency).train(corpus)
            let before = PreviousBPETrainer(vocabSize: vocab, minFrequency: minFrequency).train(corpus)
            #expect(now.merges.count > 300, "vocab \(vocab): too few merges to test anything")
            #expect(now == before, "vocab \(vocab), min_frequency \(minFrequency)")
        }
    }

    /// Merges whose result repeats an existing token (the same string reached by another split), and
    /// overlapping pairs, where the order occurrences are merged in matters.
    @Test func trainerAgreesOnReusedTokensAndOverlaps() {
        let corpus = ["aaaaaaa", "aaab", "abab ab", "baaa aaaa", "ab" + String(repeating: "c", count: 9), "abc abc bca cab",
                      String(repeating: "好", count: 41), String(repeating: "好看", count: 17)]
        for vocab in [270, 300, 340] {
            for minFrequency in [1, 2] {
                let now = BPETrainer(vocabSize: vocab, minFrequency: minFrequency).train(corpus)
                #expect(now == PreviousBPETrainer(vocabSize: vocab, minFrequency: minFrequency).train(corpus),
                        "vocab \(vocab), min_frequency \(minFrequency)")
            }
        }
    }

    /// BPE on one piece the slow and obvious way: merge the lowest-ranked adjacent pair, leftmost first.
    static func naiveEncode(_ text: String, _ tok: BPETokenizer) -> [Int32] {
        var ranks: [UInt64: (rank: Int, result: Int32)] = [:]
        for (rank, m) in tok.merges.enumerated() where ranks[MergeTable.key(m.left, m.right)] == nil {
            ranks[MergeTable.key(m.left, m.right)] = (rank, m.result)
        }
        var ids: [Int32] = []
        for piece in PreviousPreTokenizer.split(text) {
            var symbols = piece.utf8.map { tok.byteIds[Int($0)] }
            while symbols.count > 1 {
                var best: (k: Int, rank: Int, result: Int32)?
                for k in 0..<(symbols.count - 1) {
                    if let r = ranks[MergeTable.key(symbols[k], symbols[k + 1])], r.rank < best?.rank ?? Int.max { best = (k, r.rank, r.result) }
                }
                guard let best else { break }
                symbols[best.k] = best.result
                symbols.remove(at: best.k + 1)
            }
            ids += symbols
        }
        return ids
    }

    @Test func encoderMergesLikeTheNaiveAlgorithm() {
        let corpus = Self.corpus(texts: 600, seed: 5)
        let tok = BPETrainer(vocabSize: 900).train(corpus)
        var g = Generator(state: 9)
        var texts = Self.corpus(texts: 300, seed: 6)   // long Chinese pieces take the heap path
        for _ in 0..<300 { texts.append(Self.randomText(&g, pieces: g.next(40))) }
        for text in texts {
            let ids = tok.encode(text, allowSpecial: false)
            #expect(ids == Self.naiveEncode(text, tok))
            #expect(tok.decode(ids).utf8.elementsEqual(text.utf8))
        }
    }

    @Test func wordCountsAddUpShardByShardInCorpusOrder() {
        let corpus = Self.corpus(texts: 400, seed: 13)
        var whole = BPEWordCounts()
        whole.add(texts: corpus)
        var sharded = BPEWordCounts()
        for start in stride(from: 0, to: corpus.count, by: 37) {
            var shard = BPEWordCounts()
            shard.add(texts: corpus[start..<min(corpus.count, start + 37)])
            sharded.add(shard)
        }
        #expect(whole.bytes == sharded.bytes && whole.starts == sharded.starts && whole.counts == sharded.counts)
        var expected: [[UInt8]: Int] = [:]
        for text in corpus { for piece in PreviousPreTokenizer.split(text) { expected[Array(piece.utf8), default: 0] += 1 } }
        #expect(whole.count == expected.count)
        for w in 0..<whole.count { #expect(expected[Array(whole.bytes[whole.starts[w]..<whole.starts[w + 1]])] == whole.counts[w]) }
    }
}
