#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hashed character n-gram features for the judge: every n-gram (n in 1…maxN) of the normalised text,
/// with start/end markers, hashed with 64-bit FNV-1a (a fixed function: never Swift's seeded `Hasher`)
/// into `buckets` slots. Values are log-scaled counts, L2-normalised so long and short reviews weigh alike.
public struct JudgeFeatures: Sendable, Equatable {
    public var maxN: Int
    public var buckets: Int

    public init(maxN: Int, buckets: Int) {
        self.maxN = maxN
        self.buckets = buckets
    }

    static let fnvOffset: UInt64 = 0xCBF2_9CE4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3

    /// Sparse feature vector, sorted by index (so sums run in a fixed order).
    public func extract(_ text: String) -> (indices: [Int32], values: [Float]) {
        let scalars: [UInt32] = [0x02] + TextNormalizer.normalize(text).unicodeScalars.map(\.value) + [0x03]
        var counts: [Int32: Int] = [:]
        for start in scalars.indices {
            var h = Self.fnvOffset
            for n in 0..<maxN where start + n < scalars.count {
                var v = scalars[start + n]
                // Feed the scalar's 4 bytes, then a separator, so "ab" and "a"+"b" hash differently.
                for _ in 0..<4 { h = (h ^ UInt64(v & 0xFF)) &* Self.fnvPrime; v >>= 8 }
                h = (h ^ 0xFF) &* Self.fnvPrime
                counts[Int32(truncatingIfNeeded: h % UInt64(buckets)), default: 0] += 1
            }
        }
        let indices = counts.keys.sorted()
        var values = indices.map { Float(1 + log(Double(counts[$0]!))) }
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { values = values.map { $0 / norm } }
        return (indices, values)
    }
}
