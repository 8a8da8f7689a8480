@testable import Tensor
import Testing

/// One head's causal attention operands as strided views (row stride wider than the head, as inside
/// fused QKV rows), P lower-triangular as the softmax leaves it.
private struct CausalProblem {
    let t: Int, hs: Int, ld: Int, ldy: Int
    let x: [Float], b: [Float], p: [Float], y0: [Float]

    init(t: Int, hs: Int, seed: UInt64) {
        self.t = t; self.hs = hs
        ld = hs + 7; ldy = hs + 2
        var random = RandomStream(seed: seed, stream: UInt64(t * 1009 + hs))
        func fill(_ count: Int) -> [Float] { (0..<count).map { _ in Float(random.nextUniform()) * 2 - 1 } }
        x = fill(t * ld); b = fill(t * ld); y0 = fill(t * ldy)
        var p = fill(t * t)
        for i in 0..<t { for j in 0..<t where j > i { p[i * t + j] = 0 } }
        self.p = p
    }

    /// Where row i's 6-row tile ends (the kernels' k and column ranges follow the tiles).
    func tileEnd(_ i: Int) -> Int { min(t, i - i % 6 + 6) }

    func scores(_ products: borrowing CausalProducts, alpha: Float) -> [Float] {
        var s = [Float](repeating: .nan, count: t * t)
        x.withUnsafeBufferPointer { px in
            b.withUnsafeBufferPointer { pb in
                s.withUnsafeMutableBufferPointer { products.scores(px.baseAddress!, ldx: ld, keys: pb.baseAddress!, ldb: ld, alpha: alpha, into: $0.baseAddress!) }
            }
        }
        return s
    }

    func mix(_ products: borrowing CausalProducts, transposed: Bool) -> [Float] {
        var y = y0
        p.withUnsafeBufferPointer { pp in
            b.withUnsafeBufferPointer { pb in
                y.withUnsafeMutableBufferPointer { py in
                    if transposed {
                        products.mixTransposed(pp.baseAddress!, pb.baseAddress!, ldb: ld, into: py.baseAddress!, ldy: ldy)
                    } else {
                        products.mix(pp.baseAddress!, values: pb.baseAddress!, ldb: ld, into: py.baseAddress!, ldy: ldy)
                    }
                }
            }
        }
        return y
    }
}

@Suite("Causal attention products")
struct CausalProductsTests {
    static let shapes: [(Int, Int)] = [(1, 1), (5, 3), (6, 16), (7, 5), (13, 17), (64, 64), (70, 8), (130, 64), (33, 40)]

    /// The kernels' documented order, emulated: each output sums its tile's k range in ascending order
    /// from zero with one FMA per term, then × alpha (≠ 1); padding columns of Y stay untouched.
    @Test(arguments: shapes)
    func kernelsFollowTheDocumentedOrderBitForBit(t: Int, hs: Int) throws {
        try #require(DecodeGemm.kernelsSupported, "needs AVX2 + FMA")
        let problem = CausalProblem(t: t, hs: hs, seed: 21)
        let products = CausalProducts(time: t, headSize: hs, rowBlock: 64, path: .avx2FMA)
        let (x, b, p, ld) = (problem.x, problem.b, problem.p, problem.ld)
        let scores = problem.scores(products, alpha: 0.125)
        var scoreMismatches = 0
        for i in 0..<t {
            for j in 0..<problem.tileEnd(i) {
                var sum: Float = 0
                for d in 0..<hs { sum = sum.addingProduct(x[i * ld + d], b[j * ld + d]) }
                if (0.125 * sum).bitPattern != scores[i * t + j].bitPattern { scoreMismatches += 1 }
            }
            // Beyond the tile nothing is written.
            for j in problem.tileEnd(i)..<t where !scores[i * t + j].isNaN { scoreMismatches += 1 }
        }
        #expect(scoreMismatches == 0, "scores t=\(t) hs=\(hs)")
        for transposed in [false, true] {
            let y = problem.mix(products, transposed: transposed)
            var mismatches = 0
            for i in 0..<t {
                for j in 0..<hs {
                    var sum: Float = 0
                    if transposed {
                        for q in (i - i % 6)..<t { sum = sum.addingProduct(p[q * t + i], b[q * ld + j]) }
                    } else {
                        for q in 0..<problem.tileEnd(i) { sum = sum.addingProduct(p[i * t + q], b[q * ld + j]) }
                    }
                    if sum.bitPattern != y[i * problem.ldy + j].bitPattern { mismatches += 1 }
                }
                for j in hs..<problem.ldy where y[i * problem.ldy + j].bitPattern != problem.y0[i * problem.ldy + j].bitPattern { mismatches += 1 }
            }
            #expect(mismatches == 0, "\(transposed ? "Pᵀ·B" : "P·B") t=\(t) hs=\(hs)")
        }
    }

    /// Both paths compute the same products (to rounding): the kernels and OpenBLAS's row blocks.
    @Test(arguments: shapes)
    func kernelsAgreeWithOpenBLAS(t: Int, hs: Int) throws {
        try #require(DecodeGemm.kernelsSupported, "needs AVX2 + FMA")
        let problem = CausalProblem(t: t, hs: hs, seed: 22)
        let kernels = CausalProducts(time: t, headSize: hs, rowBlock: 4, path: .avx2FMA)
        let blas = CausalProducts(time: t, headSize: hs, rowBlock: 4, path: .openBLAS)
        let (s1, s2) = (problem.scores(kernels, alpha: 0.5), problem.scores(blas, alpha: 0.5))
        for i in 0..<t { for j in 0...i { #expect(abs(s1[i * t + j] - s2[i * t + j]) <= 1e-5 * Float(hs)) } }
        for transposed in [false, true] {
            let (y1, y2) = (problem.mix(kernels, transposed: transposed), problem.mix(blas, transposed: transposed))
            let worst = zip(y1, y2).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * Float(t), "\(transposed ? "Pᵀ·B" : "P·B") t=\(t) hs=\(hs): \(worst)")
        }
    }

    /// The bytes must not depend on where the operands start (alignment) — only on their values.
    @Test func resultsDoNotDependOnAlignment() throws {
        try #require(DecodeGemm.kernelsSupported, "needs AVX2 + FMA")
        let t = 40, hs = 24, ld = 3 * hs
        var random = RandomStream(seed: 5, stream: 0)
        let values = (0..<(t * ld + 8)).map { _ in Float(random.nextUniform()) - 0.5 }
        let products = CausalProducts(time: t, headSize: hs, rowBlock: 64, path: .avx2FMA)
        var results: [[Float]] = []
        for offset in 0..<4 {
            let shifted = [Float](repeating: 0, count: offset) + values
            var s = [Float](repeating: 0, count: t * t)
            shifted.withUnsafeBufferPointer { pv in
                let base = pv.baseAddress! + offset
                s.withUnsafeMutableBufferPointer { products.scores(base, ldx: ld, keys: base + hs, ldb: ld, alpha: 0.3, into: $0.baseAddress!) }
            }
            results.append((0..<t).flatMap { i in (0...i).map { s[i * t + $0] } })
        }
        #expect(results.allSatisfy { $0.map(\.bitPattern) == results[0].map(\.bitPattern) })
    }
}
