import Testing
@testable import Tensor

@Suite("Counter-based RNG and fast math")
struct RandomTests {
    /// Known-answer vectors of Random123's philox4x32-10 (kat_vectors).
    @Test func philoxKnownAnswers() {
        #expect(Philox(seed: 0).block(stream: 0, counter: 0) == SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
        let ones = Philox(seed: .max).block(stream: .max, counter: .max)
        #expect(ones == SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd))
    }

    @Test func valuesDependOnlyOnSeedStreamAndCounter() {
        let a = Philox(seed: 42), b = Philox(seed: 42)
        #expect(a.uniform(stream: 3, index: 17) == b.uniform(stream: 3, index: 17))
        #expect(a.uniform(stream: 3, index: 17) != a.uniform(stream: 4, index: 17))
        var s1 = RandomStream(seed: 5, stream: 1), s2 = RandomStream(seed: 5, stream: 1, counter: 2)
        _ = s1.nextUniform(); _ = s1.nextUniform()
        #expect(s1.nextUniform() == s2.nextUniform())
    }

    @Test func normalMoments() {
        let n = 20000
        let x = FloatBuffer(count: n)
        Philox(seed: 1).fillNormal(x.pointer, count: n, mean: 0.5, std: 2, stream: 0)
        let mean = x.array.reduce(0.0) { $0 + Double($1) } / Double(n)
        let variance = x.array.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n)
        #expect(abs(mean - 0.5) < 0.05)
        #expect(abs(variance.squareRoot() - 2) < 0.05)
    }

    @Test func dropoutKeepsExpectedFraction() {
        let n = 10000
        let x = FloatBuffer([Float](repeating: 1, count: n))
        DropoutMask(probability: 0.25, generator: Philox(seed: 3), stream: 9).apply(x.pointer, count: n)
        let kept = x.array.filter { $0 != 0 }
        #expect(abs(Double(kept.count) / Double(n) - 0.75) < 0.02)
        #expect(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
        // Applying to a sub-range with `first` reproduces the same mask elements.
        let y = FloatBuffer([Float](repeating: 1, count: 10))
        DropoutMask(probability: 0.25, generator: Philox(seed: 3), stream: 9).apply(y.pointer, count: 10, first: 37)
        #expect(y.array == Array(x.array[37..<47]))
    }

    @Test func fastExpAndTanhAccuracy() {
        var worstExp: Double = 0, worstTanh: Double = 0
        var x: Float = -80
        while x < 80 {
            worstExp = max(worstExp, abs(Double(fastExp(x)) / Foundation_exp(Double(x)) - 1))
            x += 0.0137
        }
        x = -10
        while x < 10 {
            worstTanh = max(worstTanh, abs(Double(fastTanh(x)) - tanhDouble(Double(x))))
            x += 0.00173
        }
        #expect(worstExp < 1e-6, "fastExp relative error \(worstExp)")
        #expect(worstTanh < 2e-6, "fastTanh absolute error \(worstTanh)")
    }

    /// The eight-lane GELU loops must give the scalar formula's bytes in every lane (the scalar tail
    /// serves counts that are not multiples of eight): ordinary values, the tanh clamp's edges, ±0,
    /// ±∞, NaN and subnormals.
    @Test func geluVectorLanesEqualTheScalarFormulaBitForBit() {
        let special: [Float] = [0, -0, 7.905_311, -7.905_311, 7.905_312, 20, -20, .infinity, -.infinity, .nan,
                                Float.leastNonzeroMagnitude, -Float.leastNormalMagnitude, 1e-20, 3.4e38]
        var generator = RandomStream(seed: 11, stream: 0)
        let input = special + (0..<1_001).map { _ in Float(generator.nextUniform() * 16 - 8) }
        let dOut = (0..<input.count).map { _ in Float(generator.nextUniform() * 2 - 1) }
        let c: Float = 0.797_884_560_8
        func scalarForward(_ x: Float) -> Float { 0.5 * x * (1 + fastTanh(c * (x + 0.044715 * x * x * x))) }
        func scalarBackward(_ x: Float, _ g: Float) -> Float {
            let t = fastTanh(c * (x + 0.044715 * x * x * x))
            let dt = (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
            return g * (0.5 * (1 + t) + 0.5 * x * dt)
        }
        var out = [Float](repeating: 0, count: input.count), dIn = [Float](repeating: 0, count: input.count)
        input.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { geluForward(out: $0.baseAddress!, input: x.baseAddress!, count: x.count) }
            dOut.withUnsafeBufferPointer { g in
                dIn.withUnsafeMutableBufferPointer { geluBackward(dInput: $0.baseAddress!, dOut: g.baseAddress!, input: x.baseAddress!, count: x.count) }
            }
        }
        let forwardMismatches = input.indices.filter { out[$0].bitPattern != scalarForward(input[$0]).bitPattern }
        let backwardMismatches = input.indices.filter { dIn[$0].bitPattern != scalarBackward(input[$0], dOut[$0]).bitPattern }
        #expect(forwardMismatches.isEmpty, "forward differs at \(forwardMismatches.prefix(5).map { input[$0] })")
        #expect(backwardMismatches.isEmpty, "backward differs at \(backwardMismatches.prefix(5).map { input[$0] })")
    }
}
