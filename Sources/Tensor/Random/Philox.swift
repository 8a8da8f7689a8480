#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a counter-based
/// generator. Every value is a pure function of (seed, stream, counter), so results never depend on
/// thread timing or call order, and any element of a random tensor can be regenerated on demand
/// (dropout masks are recomputed in the backward pass instead of being stored).
public struct Philox: Sendable, Hashable {
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// Four 32-bit words for block `counter` of `stream`.
    @inline(__always)
    public func block(stream: UInt64, counter: UInt64) -> SIMD4<UInt32> {
        var c0 = UInt32(truncatingIfNeeded: counter), c1 = UInt32(truncatingIfNeeded: counter >> 32)
        var c2 = UInt32(truncatingIfNeeded: stream), c3 = UInt32(truncatingIfNeeded: stream >> 32)
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            c1 = UInt32(truncatingIfNeeded: p1)
            c3 = UInt32(truncatingIfNeeded: p0)
            c0 = n0
            c2 = n2
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return SIMD4(c0, c1, c2, c3)
    }

    /// A uniform Float in [0, 1) for element `index` of `stream` (24 random bits).
    @inline(__always)
    public func uniform(stream: UInt64, index: UInt64) -> Float {
        let word = block(stream: stream, counter: index >> 2)[Int(index & 3)]
        return Float(word >> 8) * 0x1p-24
    }

    /// A uniform Double in [0, 1) for element `index` of `stream` (53 random bits).
    @inline(__always)
    public func uniformDouble(stream: UInt64, index: UInt64) -> Double {
        let w = block(stream: stream, counter: index >> 1)
        let pair = (index & 1) == 0 ? (w[0], w[1]) : (w[2], w[3])
        let bits = (UInt64(pair.0) << 21) ^ UInt64(pair.1 >> 11)
        return Double(bits & ((1 << 53) - 1)) * 0x1p-53
    }

    /// Fills `out[0..<count]` with N(mean, std²) samples; element i uses block i/2 of `stream` (Box–Muller).
    public func fillNormal(_ out: UnsafeMutablePointer<Float>, count: Int, mean: Float, std: Float, stream: UInt64) {
        var i = 0
        while i < count {
            let w = block(stream: stream, counter: UInt64(i >> 1))
            // (0, 1] so the log is finite.
            let u1 = (Double(w[0]) + 1) * 0x1p-32
            let u2 = Double(w[1]) * 0x1p-32
            let r = (-2 * log(u1)).squareRoot()
            let z0 = r * cos(2 * Double.pi * u2), z1 = r * sin(2 * Double.pi * u2)
            out[i] = mean + std * Float(z0)
            if i + 1 < count { out[i + 1] = mean + std * Float(z1) }
            i += 2
        }
    }
}

/// A sequential view on one Philox stream: draws advance a counter, so a stream restarted from the
/// same (seed, stream, counter) replays exactly.
public struct RandomStream: Sendable {
    public let generator: Philox
    public let stream: UInt64
    public private(set) var counter: UInt64

    public init(seed: UInt64, stream: UInt64 = 0, counter: UInt64 = 0) {
        generator = Philox(seed: seed)
        self.stream = stream
        self.counter = counter
    }

    public mutating func nextUniform() -> Double {
        defer { counter &+= 1 }
        return generator.uniformDouble(stream: stream, index: counter)
    }

    /// Uniform integer in 0..<bound (bound > 0), by rejection-free multiply-shift (bias < 2⁻³²·bound).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0)
        return min(bound - 1, Int(nextUniform() * Double(bound)))
    }
}

/// Mixes several integers into one stream id (SplitMix64 finaliser), for deriving per-purpose streams.
@inline(__always)
public func streamID(_ parts: UInt64...) -> UInt64 {
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15
    for p in parts {
        h ^= p &+ 0x9E37_79B9_7F4A_7C15 &+ (h << 6) &+ (h >> 2)
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        h ^= h >> 31
    }
    return h
}
