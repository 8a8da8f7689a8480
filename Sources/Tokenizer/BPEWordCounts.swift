/// The distinct pre-tokenizer pieces ("words") of a corpus with how often each occurs: what BPE trains on.
///
/// Words are kept in first-seen order, their bytes back to back in one buffer, and found through an
/// open-addressing table of indices: no allocation per word, and no dependence on `Hasher` (the order
/// is the corpus's, the hash only finds a word). Counting shards of a corpus separately and adding
/// the shards in corpus order (`add(_:)`) gives the same words in the same order as one pass.
public struct BPEWordCounts: Sendable {
    /// Word i is `bytes[starts[i]..<starts[i + 1]]`.
    public private(set) var bytes: [UInt8] = []
    public private(set) var starts: [Int] = [0]
    public private(set) var counts: [Int] = []
    private var hashes: [UInt64] = []
    /// Word index + 1 per slot (0 = empty); the capacity is a power of two, at most half full.
    private var slots: [Int32] = Array(repeating: 0, count: 1024)

    public init() {}

    public var count: Int { counts.count }

    /// Counts every piece of each text.
    public mutating func add(texts: some Sequence<String>) {
        for text in texts { add(text: text) }
    }

    /// Counts every piece of `text`.
    public mutating func add(text: String) {
        var text = text
        text.withUTF8 { utf8 in
            PreTokenizer.forEachPiece(utf8) { start, end in
                add(word: UnsafeBufferPointer(rebasing: utf8[start..<end]), count: 1)
            }
        }
    }

    /// Adds another count's words, in its order.
    public mutating func add(_ other: BPEWordCounts) {
        other.bytes.withUnsafeBufferPointer { all in
            for w in 0..<other.count {
                add(word: UnsafeBufferPointer(rebasing: all[other.starts[w]..<other.starts[w + 1]]), count: other.counts[w],
                    hash: other.hashes[w])
            }
        }
    }

    public mutating func add(word: UnsafeBufferPointer<UInt8>, count: Int) {
        add(word: word, count: count, hash: Self.hash(word))
    }

    private mutating func add(word: UnsafeBufferPointer<UInt8>, count: Int, hash: UInt64) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { break }
            let w = entry - 1
            if hashes[w] == hash && starts[w + 1] - starts[w] == word.count && equals(w, word) {
                counts[w] += count
                return
            }
            slot = (slot + 1) & mask
        }
        let w = counts.count
        bytes.append(contentsOf: word)
        starts.append(bytes.count)
        counts.append(count)
        hashes.append(hash)
        slots[slot] = Int32(w + 1)
        if counts.count * 2 > slots.count { grow() }
    }

    private func equals(_ w: Int, _ word: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer { all in
            let start = starts[w]
            for k in 0..<word.count where all[start + k] != word[k] { return false }
            return true
        }
    }

    private mutating func grow() {
        var bigger = [Int32](repeating: 0, count: slots.count * 2)
        let mask = bigger.count - 1
        for w in 0..<counts.count {
            var slot = Int(truncatingIfNeeded: hashes[w]) & mask
            while bigger[slot] != 0 { slot = (slot + 1) & mask }
            bigger[slot] = Int32(w + 1)
        }
        slots = bigger
    }

    /// A 64-bit hash of a byte string, eight bytes at a time (only finds words; never persisted).
    static func hash(_ word: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = UInt64(word.count) &* multiplier
        var k = 0
        let raw = UnsafeRawBufferPointer(word)
        while k + 8 <= word.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)) &* multiplier
            h ^= h >> 29
            k += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while k < word.count { tail |= UInt64(word[k]) << shift; shift += 8; k += 1 }
        h = (h ^ tail) &* multiplier
        h ^= h >> 32
        h = h &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }
}
