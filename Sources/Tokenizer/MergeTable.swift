/// A BPE's merge rules by pair: (left, right) → (rank, result) of the first rule for that pair. Open
/// addressing over one array, because encoding looks up every adjacent pair of every piece.
struct MergeTable: Sendable {
    private var keys: [UInt64] = []
    private var ranks: [Int32] = []
    private var results: [Int32] = []
    /// Rule index + 1 per slot (0 = empty); the capacity is a power of two, at most half full.
    private var slots: [Int32]

    init(_ merges: [BPETokenizer.Merge]) {
        var capacity = 16
        while capacity < merges.count * 2 + 2 { capacity *= 2 }
        slots = Array(repeating: 0, count: capacity)
        for (rank, m) in merges.enumerated() {
            let key = Self.key(m.left, m.right)
            var s = slot(of: key)
            var known = false
            while slots[s] != 0 {
                if keys[Int(slots[s] - 1)] == key { known = true; break }
                s = (s + 1) & (capacity - 1)
            }
            if known { continue }  // a later rule for the same pair is never applied
            keys.append(key)
            ranks.append(Int32(rank))
            results.append(m.result)
            slots[s] = Int32(keys.count)
        }
    }

    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    private func slot(of key: UInt64) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & (slots.count - 1)
    }

    func lookup(_ a: Int32, _ b: Int32) -> (rank: Int32, result: Int32)? {
        let key = Self.key(a, b)
        var s = slot(of: key)
        while true {
            let entry = Int(slots[s])
            if entry == 0 { return nil }
            if keys[entry - 1] == key { return (ranks[entry - 1], results[entry - 1]) }
            s = (s + 1) & (slots.count - 1)
        }
    }
}
