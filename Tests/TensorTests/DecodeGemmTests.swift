import Tensor
import Testing

/// One GEMM problem with strided rows (padding between rows must stay untouched) and a float64 reference.
private struct Problem {
    let m: Int, n: Int, k: Int, transposed: Bool
    let ldx: Int, ldw: Int, ldy: Int
    var x: [Float], w: [Float], y0: [Float]

    init(m: Int, n: Int, k: Int, transposed: Bool, seed: UInt64) {
        self.m = m; self.n = n; self.k = k; self.transposed = transposed
        ldx = k + 3; ldw = (transposed ? k : n) + 5; ldy = n + 2
        var random = RandomStream(seed: seed, stream: UInt64(m * 1_000_003 + n * 1009 + k))
        func fill(_ count: Int) -> [Float] { (0..<count).map { _ in Float(random.nextUniform()) * 2 - 1 } }
        x = fill(max(m, 1) * ldx); w = fill((transposed ? n : k) * ldw + 1); y0 = fill(m * ldy)
    }

    func weight(_ p: Int, _ j: Int) -> Float { transposed ? w[j * ldw + p] : w[p * ldw + j] }

    func run(accumulate: Bool, path: DecodeGemm.Path, xOffset: Int = 0, wOffset: Int = 0) -> [Float] {
        // Offsets copy the operands to a shifted start: the bytes must not depend on alignment.
        let xs = [Float](repeating: 0, count: xOffset) + x, ws = [Float](repeating: 0, count: wOffset) + w
        var y = y0
        xs.withUnsafeBufferPointer { px in
            ws.withUnsafeBufferPointer { pw in
                y.withUnsafeMutableBufferPointer { py in
                    DecodeGemm.multiply(m: m, n: n, k: k, x: px.baseAddress! + xOffset, ldx: ldx, w: pw.baseAddress! + wOffset,
                                        ldw: ldw, transposedWeight: transposed, y: py.baseAddress!, ldy: ldy,
                                        accumulate: accumulate, path: path)
                }
            }
        }
        return y
    }

    /// Largest |y − exact| / (Σ|terms| + |y0| if accumulating), and whether row padding was touched.
    func worstError(_ y: [Float], accumulate: Bool) -> Double {
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var exact = accumulate ? Double(y0[i * ldy + j]) : 0, magnitude = accumulate ? abs(exact) : 0
                for p in 0..<k {
                    let term = Double(x[i * ldx + p]) * Double(weight(p, j))
                    exact += term; magnitude += abs(term)
                }
                worst = max(worst, abs(Double(y[i * ldy + j]) - exact) / (magnitude + 1e-30))
            }
            for j in n..<ldy where y[i * ldy + j].bitPattern != y0[i * ldy + j].bitPattern { return .infinity }
        }
        return worst
    }

    /// The kernels' documented summation order, emulated in Swift: NN sums ascending k with one FMA per
    /// term (from Y when accumulating); NT keeps lane l = p mod 8 partial sums, adds them in the tree
    /// (l0+l4, l1+l5, l2+l6, l3+l7) → (a0+a2, a1+a3) → one, then adds that to Y when accumulating.
    func emulated(accumulate: Bool) -> [Float] {
        var y = y0
        for i in 0..<m {
            for j in 0..<n {
                if transposed {
                    var lanes = [Float](repeating: 0, count: 8)
                    for p in 0..<k { lanes[p % 8].addProduct(x[i * ldx + p], weight(p, j)) }
                    let a = (0..<4).map { lanes[$0] + lanes[$0 + 4] }
                    let s = (a[0] + a[2]) + (a[1] + a[3])
                    y[i * ldy + j] = accumulate ? y[i * ldy + j] + s : s
                } else {
                    var s: Float = accumulate ? y[i * ldy + j] : 0
                    for p in 0..<k { s.addProduct(x[i * ldx + p], weight(p, j)) }
                    y[i * ldy + j] = s
                }
            }
        }
        return y
    }
}

private func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }

@Suite("Small-batch decode GEMM")
struct DecodeGemmTests {
    /// Column counts around the 16-wide blocks and the 3-wide NT blocks, odd depths, either side of the
    /// 64-deep k blocks (a short last block after a full one, whose tiles are requested ahead) and
    /// 8-wide vector tails.
    static let columnsAndDepths: [(Int, Int)] = [(1, 1), (5, 3), (8, 9), (16, 8), (17, 7), (33, 31), (40, 257), (45, 20),
                                                  (20, 65), (70, 129), (3, 63)]

    static var paths: [DecodeGemm.Path] { DecodeGemm.kernelsSupported ? [.avx2FMA, .openBLAS] : [.openBLAS] }

    @Test(arguments: [false, true])
    func matchesTheDoublePrecisionReferenceOnEveryTail(transposed: Bool) {
        for path in Self.paths {
            for m in 1...17 {
                for (n, k) in Self.columnsAndDepths {
                    let problem = Problem(m: m, n: n, k: k, transposed: transposed, seed: 1)
                    for accumulate in [false, true] {
                        let error = problem.worstError(problem.run(accumulate: accumulate, path: path), accumulate: accumulate)
                        #expect(error < 2e-5, "\(path) \(transposed ? "NT" : "NN") m=\(m) n=\(n) k=\(k) accumulate=\(accumulate): \(error)")
                    }
                }
            }
        }
    }

    @Test(arguments: [(16, 768, 256, false), (16, 1024, 256, false), (16, 256, 1024, false), (16, 3001, 256, true),
                      (64, 70, 33, false), (70, 50, 40, true), (70, 50, 300, false)])
    func matchesTheReferenceOnDecodeShapes(m: Int, n: Int, k: Int, transposed: Bool) {
        let problem = Problem(m: m, n: n, k: k, transposed: transposed, seed: 2)
        for path in Self.paths {
            for accumulate in [false, true] {
                let error = problem.worstError(problem.run(accumulate: accumulate, path: path), accumulate: accumulate)
                #expect(error < 2e-5, "\(path) m=\(m) n=\(n) k=\(k) accumulate=\(accumulate): \(error)")
            }
        }
    }

    /// Same inputs → same bytes: the kernels follow their documented order exactly, whatever the
    /// alignment of the operands.
    @Test(arguments: [false, true])
    func bitwiseFixedSummationOrderIndependentOfAlignment(transposed: Bool) throws {
        try #require(DecodeGemm.kernelsSupported, "needs AVX2 + FMA")
        for (m, n, k) in [(1, 1, 1), (7, 17, 9), (16, 33, 257), (13, 40, 300), (6, 16, 512)] {
            let problem = Problem(m: m, n: n, k: k, transposed: transposed, seed: 3)
            for accumulate in [false, true] {
                let expected = bits(problem.emulated(accumulate: accumulate))
                #expect(bits(problem.run(accumulate: accumulate, path: .avx2FMA)) == expected, "m=\(m) n=\(n) k=\(k)")
                for (xOffset, wOffset) in [(1, 0), (0, 3), (5, 7)] {
                    #expect(bits(problem.run(accumulate: accumulate, path: .avx2FMA, xOffset: xOffset, wOffset: wOffset)) == expected,
                            "m=\(m) n=\(n) k=\(k) offsets \(xOffset), \(wOffset)")
                }
            }
        }
    }

    /// NaN and ±Inf spread like a GEMM's: along the row of a bad X entry, the column of a bad W entry,
    /// and never out of an overwritten Y.
    @Test(arguments: [false, true])
    func nonFiniteValuesPropagateLikeAGEMM(transposed: Bool) {
        for path in Self.paths {
            let (m, n, k) = (9, 37, 19)
            var problem = Problem(m: m, n: n, k: k, transposed: transposed, seed: 4)
            problem.x[2 * problem.ldx + 5] = .nan
            let badColumn = 20
            if transposed { problem.w[badColumn * problem.ldw + 11] = .infinity } else { problem.w[11 * problem.ldw + badColumn] = .infinity }
            for i in 0..<m { problem.x[i * problem.ldx + 11] = 0.5 }  // Inf · 0.5 stays +Inf (no 0 · Inf NaN)
            problem.y0[4 * problem.ldy + 3] = .nan   // Y's own NaN: survives accumulation, ignored when overwriting
            problem.y0[6 * problem.ldy + 8] = .infinity
            for accumulate in [false, true] {
                let y = problem.run(accumulate: accumulate, path: path)
                for i in 0..<m {
                    for j in 0..<n {
                        let v = y[i * problem.ldy + j], label = "\(path) \(transposed ? "NT" : "NN") accumulate=\(accumulate) [\(i), \(j)] = \(v)"
                        if i == 2 { #expect(v.isNaN, "\(label)") }
                        else if j == badColumn { #expect(v == .infinity, "\(label)") }
                        else if accumulate && i == 4 && j == 3 { #expect(v.isNaN, "\(label)") }
                        else if accumulate && i == 6 && j == 8 { #expect(v == .infinity, "\(label)") }
                        else { #expect(v.isFinite, "\(label)") }
                    }
                }
            }
        }
    }

    @Test func emptyDepthOverwritesWithZerosOrLeavesYAlone() {
        for path in Self.paths {
            for transposed in [false, true] {
                let problem = Problem(m: 5, n: 19, k: 0, transposed: transposed, seed: 5)
                let overwritten = problem.run(accumulate: false, path: path)
                let accumulated = problem.run(accumulate: true, path: path)
                for i in 0..<5 {
                    for j in 0..<19 {
                        #expect(overwritten[i * problem.ldy + j] == 0, "\(path) transposed=\(transposed)")
                        #expect(accumulated[i * problem.ldy + j] == problem.y0[i * problem.ldy + j], "\(path) transposed=\(transposed)")
                    }
                }
            }
        }
    }

    @Test func linearForwardAddsTheBias() {
        let (rows, ic, oc) = (3, 10, 21)
        var random = RandomStream(seed: 6)
        let input = (0..<(rows * ic)).map { _ in Float(random.nextUniform()) - 0.5 }
        let weight = (0..<(ic * oc)).map { _ in Float(random.nextUniform()) - 0.5 }
        let bias = (0..<oc).map { _ in Float(random.nextUniform()) - 0.5 }
        for path in Self.paths {
            var out = [Float](repeating: .nan, count: rows * oc)
            DecodeGemm.linearForward(out: &out, input: input, weight: weight, bias: bias, rows: rows, inChannels: ic,
                                     outChannels: oc, path: path)
            for r in 0..<rows {
                for j in 0..<oc {
                    var exact = Double(bias[j])
                    for p in 0..<ic { exact += Double(input[r * ic + p]) * Double(weight[p * oc + j]) }
                    #expect(abs(Double(out[r * oc + j]) - exact) < 1e-5, "\(path) [\(r), \(j)]")
                }
            }
        }
    }

    @Test func pathVariableIsParsedAndBadValuesAreExplained() throws {
        #expect(try DecodeGemm.resolvePath(requested: "openblas") == .openBLAS)
        #expect(try DecodeGemm.resolvePath(requested: " OpenBLAS ") == .openBLAS)
        let automatic: DecodeGemm.Path = DecodeGemm.kernelsSupported ? .avx2FMA : .openBLAS
        #expect(try DecodeGemm.resolvePath(requested: nil) == automatic)
        #expect(try DecodeGemm.resolvePath(requested: "auto") == automatic)
        if DecodeGemm.kernelsSupported { #expect(try DecodeGemm.resolvePath(requested: "avx2-fma-v2") == .avx2FMA) }
        do {
            _ = try DecodeGemm.resolvePath(requested: "avx3")
            Issue.record("an unknown value must be rejected")
        } catch {
            #expect(error.description.contains("PIPE_DECODE_GEMM=avx3"))
            #expect(error.description.contains("openblas"))
        }
    }
}

@Suite("Single-query attention kernels")
struct DecodeAttentionTests {
    static var paths: [DecodeGemm.Path] { DecodeGemm.kernelsSupported ? [.avx2FMA, .openBLAS] : [.openBLAS] }

    /// Keys/values with a row stride wider than the head (a cache row), several head sizes with tails.
    @Test(arguments: [(1, 1), (3, 7), (4, 8), (5, 16), (9, 64), (37, 13), (80, 64), (21, 72), (6, 130)])
    func scoresAndMixMatchTheReferenceAndTheirSummationOrder(count: Int, headSize: Int) {
        var random = RandomStream(seed: 7, stream: UInt64(count * 1000 + headSize))
        func fill(_ n: Int) -> [Float] { (0..<n).map { _ in Float(random.nextUniform()) * 2 - 1 } }
        let stride = headSize + 3, scale: Float = 0.37
        let q = fill(headSize), keys = fill(count * stride), values = fill(count * stride), weights = fill(count)
        for path in Self.paths {
            var scores = [Float](repeating: .nan, count: count + 1), out = [Float](repeating: .nan, count: headSize + 1)
            DecodeGemm.attentionScores(count: count, headSize: headSize, query: q, keys: keys, keyStride: stride,
                                       scale: scale, scores: &scores, path: path)
            DecodeGemm.attentionMix(count: count, headSize: headSize, weights: weights, values: values, valueStride: stride,
                                    out: &out, path: path)
            #expect(scores[count].isNaN && out[headSize].isNaN, "\(path) wrote past the end")
            for j in 0..<count {
                var exact = 0.0, magnitude = 0.0
                for d in 0..<headSize { let t = Double(q[d]) * Double(keys[j * stride + d]); exact += t; magnitude += abs(t) }
                #expect(abs(Double(scores[j]) - Double(scale) * exact) <= 2e-6 * Double(scale) * magnitude + 1e-30, "\(path) score \(j)")
                if path == .avx2FMA {  // lanes d mod 8, fixed tree, then the scale
                    var lanes = [Float](repeating: 0, count: 8)
                    for d in 0..<headSize { lanes[d % 8].addProduct(q[d], keys[j * stride + d]) }
                    let a = (0..<4).map { lanes[$0] + lanes[$0 + 4] }
                    #expect(scores[j].bitPattern == (scale * ((a[0] + a[2]) + (a[1] + a[3]))).bitPattern, "score \(j)")
                }
            }
            for d in 0..<headSize {
                var exact = 0.0, magnitude = 0.0, ordered: Float = 0
                for j in 0..<count {
                    let t = Double(weights[j]) * Double(values[j * stride + d]); exact += t; magnitude += abs(t)
                    ordered.addProduct(weights[j], values[j * stride + d])
                }
                #expect(abs(Double(out[d]) - exact) <= 2e-6 * magnitude + 1e-30, "\(path) out \(d)")
                if path == .avx2FMA { #expect(out[d].bitPattern == ordered.bitPattern, "out \(d)") }
            }
        }
    }
}
