/// Byte strings → dense indices 0, 1, 2… in first-seen order: the strings back to back in one buffer,
/// found through an open-addressing table of indices (no allocation per string, no `Hasher`: the
/// indices follow the input, the hash only finds a string).
struct ByteStringTable: Sendable {
    /// String i is `bytes[starts[i]..<starts[i + 1]]`.
    private(set) var bytes: [UInt8] = []
    private(set) var starts: [Int] = [0]
    private(set) var hashes: [UInt64] = []
    /// Index + 1 per slot (0 = empty); the capacity is a power of two, at most half full.
    private var slots: [Int32] = Array(repeating: 0, count: 1024)

    var count: Int { hashes.count }

    /// The index of `string`, added when new (`added` says so).
    mutating func index(of string: UnsafeBufferPointer<UInt8>, hash: UInt64) -> (index: Int, added: Bool) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 {
            let i = Int(slots[slot]) - 1
            if hashes[i] == hash && equals(i, string) { return (i, false) }
            slot = (slot + 1) & mask
        }
        let i = hashes.count
        bytes.append(contentsOf: string)
        starts.append(bytes.count)
        hashes.append(hash)
        slots[slot] = Int32(i + 1)
        if hashes.count * 2 > slots.count { grow() }
        return (i, true)
    }

    /// The index of `string`, or nil.
    func find(_ string: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int? {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 {
            let i = Int(slots[slot]) - 1
            if hashes[i] == hash && equals(i, string) { return i }
            slot = (slot + 1) & mask
        }
        return nil
    }

    private func equals(_ i: Int, _ string: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = starts[i]
        guard starts[i + 1] - start == string.count else { return false }
        return bytes.withUnsafeBufferPointer { all in
            for k in 0..<string.count where all[start + k] != string[k] { return false }
            return true
        }
    }

    private mutating func grow() {
        slots = Array(repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for i in 0..<hashes.count {
            var slot = Int(truncatingIfNeeded: hashes[i]) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(i + 1)
        }
    }

    /// A 64-bit hash of a byte string, eight bytes at a time (only finds strings; never persisted).
    static func hash(_ string: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = UInt64(string.count) &* multiplier
        var k = 0
        let raw = UnsafeRawBufferPointer(string)
        while k + 8 <= string.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)) &* multiplier
            h ^= h >> 29
            k += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while k < string.count { tail |= UInt64(string[k]) << shift; shift += 8; k += 1 }
        h = (h ^ tail) &* multiplier
        h ^= h >> 32
        h = h &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }
}
