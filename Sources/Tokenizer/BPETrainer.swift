/// Learns byte-level BPE merges from a corpus.
///
/// Words (pre-tokenizer pieces) are counted once (`BPEWordCounts`). Every symbol of every distinct word
/// is then a node of a doubly linked list, and each pair keeps the list of nodes where it starts, so a
/// merge visits only the occurrences of the chosen pair and updates the counts of the pairs next to
/// them: its cost does not depend on the length of the words it touches (a Chinese sentence without
/// punctuation is one word of hundreds of bytes). A max-heap with lazy re-validation picks the next
/// pair. Ties between equally frequent pairs go to the smaller (left id, right id): deterministic.
///
/// Within a word, occurrences merge left to right without overlap ("aaa" + (a, a) → "aa a").
public struct BPETrainer: Sendable {
    /// Final vocabulary size, byte tokens and special tokens included.
    public var vocabSize: Int
    /// Pairs seen fewer times than this are never merged (training may stop below `vocabSize`).
    public var minFrequency: Int
    /// Special tokens, given ids right after the 256 byte tokens.
    public var specialTokens: [String]

    public init(vocabSize: Int, minFrequency: Int = 2,
                specialTokens: [String] = [BPETokenizer.endOfText, BPETokenizer.padToken]) {
        self.vocabSize = vocabSize
        self.minFrequency = minFrequency
        self.specialTokens = specialTokens
    }

    public func train(_ texts: some Sequence<String>) -> BPETokenizer {
        var words = BPEWordCounts()
        words.add(texts: texts)
        return train(words: words)
    }

    /// Trains on counted words. The result depends on the words and their counts only, not on their order.
    public func train(words: BPEWordCounts) -> BPETokenizer {
        var tokenBytes: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        tokenBytes += specialTokens.map { Array($0.utf8) }
        var idOfBytes: [[UInt8]: Int32] = [:]
        for (id, bytes) in tokenBytes.enumerated() where id < 256 { idOfBytes[bytes] = Int32(id) }
        var merges: [BPETokenizer.Merge] = []

        var symbols = BPESymbols(words)
        var pairs = BPEPairs()
        for node in 0..<symbols.count where symbols.next[node] >= 0 {
            let pair = Int(pairs.id(symbols.symbol[node], symbols.symbol[Int(symbols.next[node])]))
            pairs.count[pair] += symbols.weight(node)
            pairs.positions[pair].append(Int32(node))
        }
        var heap = PairHeap()
        for pair in pairs.idsInKeyOrder() where pairs.count[pair] > 0 { heap.push(count: pairs.count[pair], key: pairs.key[pair]) }

        // Counts before the current merge of the pairs it changed (`changedStamp` marks them once per merge).
        var changed: [Int32] = []
        var countBefore: [Int] = []
        var changedStamp: [Int] = []
        func adjust(_ pair: Int32, _ delta: Int, stamp: Int) {
            let p = Int(pair)
            if p >= changedStamp.count {
                changedStamp += Array(repeating: -1, count: p + 1 - changedStamp.count)
                countBefore += Array(repeating: 0, count: p + 1 - countBefore.count)
            }
            if changedStamp[p] != stamp {
                changedStamp[p] = stamp
                countBefore[p] = pairs.count[p]
                changed.append(pair)
            }
            pairs.count[p] += delta
        }

        while tokenBytes.count < vocabSize, let top = heap.pop() {
            guard let pair = pairs.existingId(top.key) else { continue }
            let current = pairs.count[Int(pair)]
            if current != top.count {
                if current > 0 && current < top.count { heap.push(count: current, key: top.key) }
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

            var positions = pairs.positions[Int(pair)]
            pairs.positions[Int(pair)] = []
            // (a, a) can overlap ("aaa"): take a word's occurrences left to right, as one scan would.
            // Nodes of a word are numbered left to right, so node order is that order.
            if left == right { positions.sort() }
            let stamp = merges.count
            changed.removeAll(keepingCapacity: true)
            for position in positions {
                let i = Int(position)
                guard symbols.symbol[i] == left else { continue }
                let j = Int(symbols.next[i])
                guard j >= 0, symbols.symbol[j] == right else { continue }
                let w = symbols.weight(i)
                let before = Int(symbols.previous[i]), after = Int(symbols.next[j])
                if before >= 0 {
                    let s = symbols.symbol[before]
                    adjust(pairs.id(s, left), -w, stamp: stamp)
                    let created = pairs.id(s, newId)
                    adjust(created, w, stamp: stamp)
                    pairs.positions[Int(created)].append(Int32(before))
                }
                if after >= 0 {
                    let s = symbols.symbol[after]
                    adjust(pairs.id(right, s), -w, stamp: stamp)
                    let created = pairs.id(newId, s)
                    adjust(created, w, stamp: stamp)
                    pairs.positions[Int(created)].append(Int32(i))
                }
                symbols.symbol[i] = newId
                symbols.symbol[j] = -1
                symbols.next[i] = Int32(after)
                if after >= 0 { symbols.previous[after] = Int32(i) }
            }
            // A left-to-right merge leaves no adjacent (left, right) behind.
            pairs.count[Int(pair)] = 0
            for p in changed where p != pair {
                let updated = pairs.count[Int(p)]
                if updated > countBefore[Int(p)] { heap.push(count: updated, key: pairs.key[Int(p)]) }
                // A pair counted 0 occurs nowhere: its stale positions can go.
                if updated == 0 { pairs.positions[Int(p)] = [] }
            }
        }
        let specialIds = specialTokens.indices.map { Int32(256 + $0) }
        return BPETokenizer(tokenBytes: tokenBytes, merges: merges,
                            specialTokens: zip(specialTokens, specialIds).map { ($0, $1) })
    }
}

/// The symbols of every distinct word of two bytes or more as linked-list nodes: node i holds
/// `symbol[i]` (-1 once merged into its left neighbour), its neighbours within the word (-1 at the
/// word's ends) and its word's count.
struct BPESymbols {
    var symbol: [Int32] = []
    var previous: [Int32] = []
    var next: [Int32] = []
    private var wordOfNode: [Int32] = []
    private let counts: [Int]

    init(_ words: BPEWordCounts) {
        counts = words.counts
        var total = 0
        for w in 0..<words.count where words.starts[w + 1] - words.starts[w] > 1 { total += words.starts[w + 1] - words.starts[w] }
        symbol.reserveCapacity(total)
        previous.reserveCapacity(total)
        next.reserveCapacity(total)
        wordOfNode.reserveCapacity(total)
        for w in 0..<words.count {
            let start = words.starts[w], end = words.starts[w + 1]
            guard end - start > 1 else { continue }
            let first = symbol.count
            for k in start..<end {
                let node = symbol.count
                symbol.append(Int32(words.bytes[k]))
                previous.append(node == first ? -1 : Int32(node - 1))
                next.append(k + 1 == end ? -1 : Int32(node + 1))
                wordOfNode.append(Int32(w))
            }
        }
    }

    var count: Int { symbol.count }

    /// How often node i's word occurs in the corpus.
    func weight(_ node: Int) -> Int { counts[Int(wordOfNode[node])] }
}

/// Pairs of adjacent symbols by dense id: key (left << 32 | right), count, and the nodes where the
/// pair may start (checked when used: merges elsewhere leave stale entries).
struct BPEPairs {
    var key: [UInt64] = []
    var count: [Int] = []
    var positions: [[Int32]] = []
    /// Pair id + 1 per slot (0 = empty), open addressing; at most half full.
    private var slots: [Int32] = Array(repeating: 0, count: 1 << 12)

    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    private func slot(of key: UInt64) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & (slots.count - 1)
    }

    /// The id of (a, b), added with count 0 when new.
    mutating func id(_ a: Int32, _ b: Int32) -> Int32 {
        let k = Self.key(a, b)
        let mask = slots.count - 1
        var s = slot(of: k)
        while slots[s] != 0 {
            let p = slots[s] - 1
            if key[Int(p)] == k { return p }
            s = (s + 1) & mask
        }
        let p = Int32(key.count)
        key.append(k)
        count.append(0)
        positions.append([])
        slots[s] = p + 1
        if key.count * 2 > slots.count { grow() }
        return p
    }

    func existingId(_ k: UInt64) -> Int32? {
        let mask = slots.count - 1
        var s = slot(of: k)
        while slots[s] != 0 {
            let p = slots[s] - 1
            if key[Int(p)] == k { return p }
            s = (s + 1) & mask
        }
        return nil
    }

    /// Every pair id, ordered by key.
    func idsInKeyOrder() -> [Int] { key.indices.sorted { key[$0] < key[$1] } }

    private mutating func grow() {
        slots = Array(repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for p in key.indices {
            var s = slot(of: key[p])
            while slots[s] != 0 { s = (s + 1) & mask }
            slots[s] = Int32(p + 1)
        }
    }
}

/// A max-heap of (count, pair key): the highest count first, the smaller key among equal counts.
struct PairHeap {
    private var counts: [Int] = []
    private var keys: [UInt64] = []

    private func before(_ i: Int, _ j: Int) -> Bool {
        counts[i] != counts[j] ? counts[i] > counts[j] : keys[i] < keys[j]
    }

    private mutating func swapAt(_ i: Int, _ j: Int) {
        counts.swapAt(i, j)
        keys.swapAt(i, j)
    }

    mutating func push(count: Int, key: UInt64) {
        counts.append(count)
        keys.append(key)
        var child = counts.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(child, parent) else { break }
            swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (count: Int, key: UInt64)? {
        guard !counts.isEmpty else { return nil }
        let top = (counts[0], keys[0])
        swapAt(0, counts.count - 1)
        counts.removeLast()
        keys.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var best = parent
            if left < counts.count && before(left, best) { best = left }
            if right < counts.count && before(right, best) { best = right }
            if best == parent { break }
            swapAt(parent, best)
            parent = best
        }
        return top
    }
}
