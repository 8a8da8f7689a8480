/// A trie over UTF-8 bytes that finds the longest vocabulary entry at the start of a byte span — one
/// walk instead of WordPiece's "try the whole rest, then one character shorter, …" lookups. The
/// answer is the same: a valid UTF-8 token that is a byte prefix of valid UTF-8 text ends on a
/// character boundary.
///
/// Edges live in one open-addressing table keyed by (node, byte), so a lookup is a multiply and a probe.
struct ByteTrie: Sendable {
    /// Key (node << 8 | byte) + 1 per slot; 0 marks an empty slot.
    private var keys: [UInt64]
    private var targets: [Int32]
    /// Token id ending at each node, -1 if none. Node 0 is the root.
    private var ids: [Int32]
    private var shift: UInt64

    init(_ entries: [(bytes: [UInt8], id: Int32)]) {
        var edges: [UInt64: Int32] = [:]
        var ids: [Int32] = [-1]
        for entry in entries {
            var node: Int32 = 0
            for b in entry.bytes {
                let key = UInt64(node) << 8 | UInt64(b)
                if let next = edges[key] {
                    node = next
                } else {
                    let next = Int32(ids.count)
                    ids.append(-1)
                    edges[key] = next
                    node = next
                }
            }
            ids[Int(node)] = entry.id
        }
        var bits: UInt64 = 4
        while (1 << bits) < edges.count * 2 { bits += 1 }
        let size = 1 << Int(bits)
        var keys = [UInt64](repeating: 0, count: size)
        var targets = [Int32](repeating: -1, count: size)
        shift = 64 - bits
        // Sorted insertion: the table's layout does not depend on Dictionary order.
        for key in edges.keys.sorted() {
            var slot = Int((key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while keys[slot] != 0 { slot = (slot + 1) & (size - 1) }
            keys[slot] = key + 1
            targets[slot] = edges[key] ?? -1
        }
        self.keys = keys
        self.targets = targets
        self.ids = ids
    }

    @inline(__always) private func child(_ node: Int32, _ byte: UInt8) -> Int32 {
        let key = UInt64(node) << 8 | UInt64(byte)
        let mask = keys.count - 1
        var slot = Int((key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let k = keys[slot]
            if k == key + 1 { return targets[slot] }
            if k == 0 { return -1 }
            slot = (slot + 1) & mask
        }
    }

    /// The longest entry that `bytes[start...]` begins with: its id and the index just past it.
    @inline(__always)
    func longestMatch(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (id: Int32, end: Int)? {
        var node: Int32 = 0
        var best: (id: Int32, end: Int)?
        var i = start
        while i < bytes.count {
            node = child(node, bytes[i])
            if node < 0 { break }
            i += 1
            let id = ids[Int(node)]
            if id >= 0 { best = (id, i) }
        }
        return best
    }

    /// The id of exactly `bytes`, if it is an entry.
    func id(of bytes: some Sequence<UInt8>) -> Int32? {
        var node: Int32 = 0
        for b in bytes {
            node = child(node, b)
            if node < 0 { return nil }
        }
        let id = ids[Int(node)]
        return id >= 0 ? id : nil
    }
}
