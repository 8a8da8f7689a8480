/// Bit-exact conversions between Float32 and the 16-bit float formats of checkpoints (IEEE half
/// `F16`, bfloat16 `BF16`). Written out by hand, so they behave the same on every platform
/// (Swift's `Float16` is missing on some); round-to-nearest-even, NaN payloads kept quiet.
public enum FloatConversion {
    /// The Float32 value of an IEEE 754 binary16 bit pattern (exact: every half is a float).
    @inline(__always)
    public static func float(halfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            // Zero or subnormal: mantissa × 2⁻²⁴.
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
        return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
    }

    /// The Float32 value of a bfloat16 bit pattern (the upper half of a Float32).
    @inline(__always)
    public static func float(bfloat16Bits b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// The nearest binary16 (ties to even; overflow → ±infinity; NaN stays NaN).
    public static func halfBits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 | UInt16(truncatingIfNeeded: mantissa >> 13) : 0) }
        let e = exponent - 112  // the half's biased exponent
        if e >= 31 { return sign | 0x7C00 }
        let significand: UInt32, shift: UInt32, base: UInt32
        if e <= 0 {
            // Subnormal half (or zero): value = significand × 2^(exponent − 150) in units of 2⁻²⁴.
            if e < -10 { return sign }
            significand = mantissa | 0x80_0000
            shift = UInt32(14 - e)
            base = 0
        } else {
            significand = mantissa
            shift = 13
            base = UInt32(e) << 10
        }
        var q = base | significand >> shift
        let remainder = significand & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
        if remainder > halfway || (remainder == halfway && q & 1 == 1) { q += 1 }  // a carry may reach infinity: right
        return sign | UInt16(truncatingIfNeeded: q)
    }

    /// The nearest bfloat16 (ties to even; NaN stays NaN).
    public static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// Converts `count` little-endian elements of a floating-point dtype at `source` to Float32.
    /// Returns false for a dtype that is not F32, F16, BF16 or F64.
    static func convert(_ source: UnsafeRawPointer, dtype: SafetensorsDType, into destination: UnsafeMutablePointer<Float>,
                        count: Int) -> Bool {
        switch dtype {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: 4 * count)
        case .f16:
            for i in 0..<count { destination[i] = float(halfBits: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16:
            for i in 0..<count { destination[i] = float(bfloat16Bits: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .f64:
            for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        default:
            return false
        }
        return true
    }
}

extension SafetensorsTensor {
    /// A Float32 tensor stored as F32, F16 or BF16 (rounded to nearest even), e.g. to write a
    /// half-precision checkpoint.
    public init(name: String, shape: [Int], floats: some Collection<Float>, storedAs dtype: SafetensorsDType) {
        switch dtype {
        case .f16:
            self.init(name: name, dtype: .f16, shape: shape, bytes: floats.flatMap { withUnsafeBytes(of: FloatConversion.halfBits($0).littleEndian, Array.init) })
        case .bf16:
            self.init(name: name, dtype: .bf16, shape: shape, bytes: floats.flatMap { withUnsafeBytes(of: FloatConversion.bfloat16Bits($0).littleEndian, Array.init) })
        case .f64:
            self.init(name: name, dtype: .f64, shape: shape, bytes: floats.flatMap { withUnsafeBytes(of: Double($0).bitPattern.littleEndian, Array.init) })
        default:
            precondition(dtype == .f32, "SafetensorsTensor(storedAs:): \(dtype.rawValue) is not a floating-point dtype")
            self.init(name: name, shape: shape, floats: floats)
        }
    }
}
