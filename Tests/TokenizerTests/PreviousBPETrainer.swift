@testable import Tokenizer

/// The trainer as it was before the position-indexed one: the reference the new trainer must match merge for merge.
///
/// Words (pre-tokenizer pieces) are counted once; each merge then touches only the words that contain
/// the chosen pair, updating pair counts incrementally (a max-heap with lazy re-validation picks the
/// next pair), so training on ~30k reviews to a 5000-token vocabulary takes seconds, not a rescan per
/// merge. Ties between equally frequent pairs go to the smaller (left id, right id): deterministic.
struct PreviousBPETrainer: Sendable {
    /// Final vocabulary size, byte tokens and special tokens included.
    var vocabSize: Int
    /// Pairs seen fewer times than this are never merged (training may stop below `vocabSize`).
    var minFrequency: Int
    /// Special tokens, given ids right after the 256 byte tokens.
    var specialTokens: [String]

    init(vocabSize: Int, minFrequency: Int = 2,
                specialTokens: [String] = [BPETokenizer.endOfText, BPETokenizer.padToken]) {
        self.vocabSize = vocabSize
        self.minFrequency = minFrequency
        self.specialTokens = specialTokens
    }

    func train(_ texts: some Sequence<String>) -> BPETokenizer {
        var wordCounts: [Substring: Int] = [:]
        for text in texts {
            for piece in PreviousPreTokenizer.split(text) { wordCounts[piece, default: 0] += 1 }
        }
        // Sort the distinct words so every later step is independent of Dictionary order.
        let sortedWords = wordCounts.keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        var words: [[Int32]] = sortedWords.map { $0.map { Int32($0) } }
        let counts: [Int] = sortedWords.map { wordCounts[Substring(decoding: $0, as: UTF8.self)]! }
        return train(words: &words, counts: counts)
    }

    private static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }

    private func train(words: inout [[Int32]], counts: [Int]) -> BPETokenizer {
        var tokenBytes: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        tokenBytes += specialTokens.map { Array($0.utf8) }
        var idOfBytes: [[UInt8]: Int32] = [:]
        for (id, bytes) in tokenBytes.enumerated() where id < 256 { idOfBytes[bytes] = Int32(id) }
        var merges: [BPETokenizer.Merge] = []

        var pairCounts: [UInt64: Int] = [:]
        var pairWords: [UInt64: [Int32]] = [:]
        for (w, word) in words.enumerated() where word.count > 1 {
            for j in 0..<(word.count - 1) {
                let k = Self.key(word[j], word[j + 1])
                pairCounts[k, default: 0] += counts[w]
                if pairWords[k]?.last != Int32(w) { pairWords[k, default: []].append(Int32(w)) }
            }
        }
        // Max count first; ties → smaller pair key.
        var heap = BinaryHeap<(count: Int, key: UInt64)> { $0.count != $1.count ? $0.count > $1.count : $0.key < $1.key }
        for k in pairCounts.keys.sorted() { heap.push((pairCounts[k]!, k)) }

        while tokenBytes.count < vocabSize, let top = heap.pop() {
            let current = pairCounts[top.key] ?? 0
            if current != top.count {
                if current > 0 && current < top.count { heap.push((current, top.key)) }
                continue
            }
            if current < max(minFrequency, 1) { break }
            let left = Int32(truncatingIfNeeded: top.key >> 32), right = Int32(truncatingIfNeeded: top.key)
            let merged = tokenBytes[Int(left)] + tokenBytes[Int(right)]
            let newId: Int32
            if let existing = idOfBytes[merged] {
                newId = existing  // the same string reached by another split: reuse its id
            } else {
                newId = Int32(tokenBytes.count)
                tokenBytes.append(merged)
                idOfBytes[merged] = newId
            }
            merges.append(.init(left: left, right: right, result: newId))

            var deltas: [UInt64: Int] = [:]
            for w in pairWords[top.key] ?? [] {
                let word = words[Int(w)]
                guard word.count > 1 else { continue }
                // Rewrite the word and adjust only the pairs next to each merged occurrence.
                let c = counts[Int(w)]
                var rewritten: [Int32] = []
                rewritten.reserveCapacity(word.count)
                var j = 0, changed = false
                while j < word.count {
                    guard j + 1 < word.count && word[j] == left && word[j + 1] == right else {
                        rewritten.append(word[j]); j += 1; continue
                    }
                    changed = true
                    if let previous = rewritten.last {
                        deltas[Self.key(previous, left), default: 0] -= c
                        let k = Self.key(previous, newId)
                        deltas[k, default: 0] += c
                        if pairWords[k]?.last != w { pairWords[k, default: []].append(w) }
                    }
                    if j + 2 < word.count {
                        deltas[Self.key(right, word[j + 2]), default: 0] -= c
                        let k = Self.key(newId, word[j + 2])
                        deltas[k, default: 0] += c
                        if pairWords[k]?.last != w { pairWords[k, default: []].append(w) }
                    }
                    rewritten.append(newId)
                    j += 2
                }
                guard changed else { continue }
                words[Int(w)] = rewritten
            }
            pairWords[top.key] = nil
            pairCounts[top.key] = nil  // a left-to-right merge leaves no adjacent (left, right) behind
            deltas[top.key] = nil
            for k in deltas.keys.sorted() {
                let d = deltas[k]!
                guard d != 0 else { continue }
                let updated = (pairCounts[k] ?? 0) + d
                pairCounts[k] = updated > 0 ? updated : nil
                if d > 0 { heap.push((updated, k)) }
            }
        }
        let specialIds = specialTokens.indices.map { Int32(256 + $0) }
        return BPETokenizer(tokenBytes: tokenBytes, merges: merges,
                            specialTokens: zip(specialTokens, specialIds).map { ($0, $1) })
    }
}
