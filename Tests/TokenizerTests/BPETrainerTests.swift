import Testing
@testable import Tokenizer

@Suite("BPE trainer")
struct BPETrainerTests {
    /// The textbook algorithm: recount every pair after every merge. Slow, obviously correct.
    static func naiveMerges(_ texts: [String], vocabSize: Int, minFrequency: Int) -> [BPETokenizer.Merge] {
        var counts: [String: Int] = [:]
        for t in texts { for p in PreTokenizer.split(t) { counts[String(p), default: 0] += 1 } }
        let keys = counts.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var words = keys.map { $0.utf8.map { Int32($0) } }
        let freq = keys.map { counts[$0]! }
        var tokenBytes: [[UInt8]] = (0..<256).map { [UInt8($0)] } + [Array("<|endoftext|>".utf8), Array("<|pad|>".utf8)]
        var merges: [BPETokenizer.Merge] = []
        while tokenBytes.count < vocabSize {
            var pairs: [[Int32]: Int] = [:]
            for (w, word) in words.enumerated() where word.count > 1 {
                for j in 0..<(word.count - 1) { pairs[[word[j], word[j + 1]], default: 0] += freq[w] }
            }
            guard let best = pairs.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key.lexicographicallyPrecedes($1.key) == false }),
                  best.value >= minFrequency else { break }
            let (l, r) = (best.key[0], best.key[1])
            let bytes = tokenBytes[Int(l)] + tokenBytes[Int(r)]
            var id = Int32(tokenBytes.count)
            if let existing = tokenBytes.indices.first(where: { $0 < 256 || $0 >= 258 ? tokenBytes[$0] == bytes : false }) {
                id = Int32(existing)
            } else {
                tokenBytes.append(bytes)
            }
            merges.append(.init(left: l, right: r, result: id))
            words = words.map { word in
                var out: [Int32] = [], j = 0
                while j < word.count {
                    if j + 1 < word.count && word[j] == l && word[j + 1] == r { out.append(id); j += 2 } else { out.append(word[j]); j += 1 }
                }
                return out
            }
        }
        return merges
    }

    @Test func incrementalCountsMatchTheNaiveAlgorithm() {
        let texts = sampleCorpus() + ["aaaaaa bababab abab aaa", "哈哈哈哈哈哈", "好好好 好好", "一一一一一一一"]
        for (vocab, minFrequency) in [(330, 2), (420, 1)] {
            let fast = BPETrainer(vocabSize: vocab, minFrequency: minFrequency).train(texts)
            let naive = Self.naiveMerges(texts, vocabSize: vocab, minFrequency: minFrequency)
            #expect(fast.merges == naive, "vocab \(vocab)")
        }
    }

    @Test func stopsWhenPairsAreRarerThanMinFrequency() {
        let tok = BPETrainer(vocabSize: 10_000, minFrequency: 2).train(["abcabc", "xyz"])
        #expect(tok.vocabSize < 10_000)
        #expect(tok.merges.allSatisfy { tok.tokenBytes[Int($0.result)].count >= 2 })
    }
}
