/// Hashed character n-gram features for the judge: the presence (not the count) of every n-gram
/// (n in 1…maxN) of the normalised text, with start/end markers, plus — when `negation` is on — the
/// 1- and 2-grams in the three characters after a negation (不 没 别 无 未) marked as negated, so
/// "不好" also fires a "negated 好" feature shared with "没有很好". Hashing is 64-bit FNV-1a (a fixed
/// function: never Swift's seeded `Hasher`) into `buckets` slots.
public struct JudgeFeatures: Sendable, Equatable {
    public var maxN: Int
    public var buckets: Int
    public var negation: Bool

    public init(maxN: Int, buckets: Int, negation: Bool = false) {
        self.maxN = maxN
        self.buckets = buckets
        self.negation = negation
    }

    static let fnvOffset: UInt64 = 0xCBF2_9CE4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3
    static let negationScalars: Set<UInt32> = Set("不没别无未".unicodeScalars.map(\.value))
    /// How many characters after a negation are marked.
    static let negationScope = 3

    /// The buckets present in the text, sorted ascending and unique (so sums run in a fixed order).
    public func indices(_ text: String) -> [Int32] {
        let scalars: [UInt32] = [0x02] + TextNormalizer.normalize(text).unicodeScalars.map(\.value) + [0x03]
        var found: [Int32] = []
        found.reserveCapacity(scalars.count * (maxN + (negation ? 2 : 0)))
        for start in scalars.indices { addGrams(scalars, start: start, upTo: maxN, marked: false, into: &found) }
        if negation {
            for (i, s) in scalars.enumerated() where Self.negationScalars.contains(s) {
                for start in (i + 1)..<min(i + 1 + Self.negationScope, scalars.count) {
                    addGrams(scalars, start: start, upTo: min(2, maxN), marked: true, into: &found)
                }
            }
        }
        found.sort()
        var unique: [Int32] = []
        unique.reserveCapacity(found.count)
        for k in found where unique.last != k { unique.append(k) }
        return unique
    }

    /// Appends the buckets of the n-grams starting at `start`, n = 1…maxN (clipped at the end).
    private func addGrams(_ scalars: [UInt32], start: Int, upTo maxN: Int, marked: Bool, into found: inout [Int32]) {
        var h = Self.fnvOffset
        if marked { h = (h ^ 0xFE) &* Self.fnvPrime }  // a negated n-gram never collides with its plain twin by design
        for n in 0..<maxN where start + n < scalars.count {
            var v = scalars[start + n]
            // Feed the scalar's 4 bytes, then a separator, so "ab" and "a"+"b" hash differently.
            for _ in 0..<4 { h = (h ^ UInt64(v & 0xFF)) &* Self.fnvPrime; v >>= 8 }
            h = (h ^ 0xFF) &* Self.fnvPrime
            found.append(Int32(truncatingIfNeeded: h % UInt64(buckets)))
        }
    }
}
