/// Checks the loaded BLAS kernels against a double-precision reference on the shapes a GPT uses
/// (all transpose combinations, tails that are not multiples of any vector width, beta accumulation,
/// strided views, GEMV), plus the decode step's small-batch GEMM (`DecodeGemm`) when it runs. OpenBLAS
/// picks its kernels per CPU at load time, and older releases are known to pick wrong ones on CPUs newer
/// than themselves; `pipe bench gpt` runs this before timing anything so a figure never comes from
/// kernels that compute the wrong thing.
public enum KernelCheck {
    public struct Result: Sendable {
        /// Largest |C − C_ref| / (Σ_k |A_ik · B_kj| + tiny) over all checked entries.
        public var worstRelativeError: Double
        /// The case that produced it, e.g. "sgemm T,N m=37 n=300 k=129".
        public var worstCase: String
        public var cases: Int
        /// Float32 accumulation over k ≤ 1024 stays far below this; a wrong kernel lands near 1.
        public static let tolerance = 1e-4
        public var passed: Bool { worstRelativeError <= Self.tolerance }
    }

    /// GEMM shapes (m, n, k) with tails that are not multiples of any vector width (fast in debug builds).
    public static let smallShapes: [(Int, Int, Int)] = [(1, 1, 1), (3, 5, 7), (17, 33, 65), (37, 70, 129), (129, 97, 40)]
    /// GPT-sized shapes: a fused QKV projection, the LM head with V = 6000, an MLP projection.
    public static let gptShapes: [(Int, Int, Int)] = smallShapes + [(64, 768, 256), (16, 6000, 256), (256, 256, 1024)]

    public static func run(shapes: [(Int, Int, Int)] = gptShapes, seed: UInt64 = 0x6B65726E) -> Result {
        var result = Result(worstRelativeError: 0, worstCase: "none", cases: 0)
        var random = RandomStream(seed: seed, stream: 0)
        func fill(_ count: Int) -> [Float] { (0..<count).map { _ in Float(random.nextUniform()) * 2 - 1 } }
        func record(_ error: Double, _ name: String) {
            result.cases += 1
            if error > result.worstRelativeError || error.isNaN { result.worstRelativeError = error.isNaN ? .infinity : error; result.worstCase = name }
        }
        for (m, n, k) in shapes {
            for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                // Row strides wider than the rows: the views GPT attention takes inside fused QKV rows.
                let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 1, ldc = n + 2
                let a = fill((transA ? k : m) * lda), b = fill((transB ? n : k) * ldb)
                let c0 = fill(m * ldc)
                for (alpha, beta) in [(Float(1), Float(0)), (Float(0.5), Float(1))] {
                    var c = c0
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            c.withUnsafeMutableBufferPointer { pc in
                                sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                      a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                      beta: beta, c: pc.baseAddress!, ldc: ldc)
                            }
                        }
                    }
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            var exact = 0.0, magnitude = 0.0
                            for p in 0..<k {
                                let x = Double(transA ? a[p * lda + i] : a[i * lda + p])
                                let y = Double(transB ? b[j * ldb + p] : b[p * ldb + j])
                                exact += x * y; magnitude += abs(x * y)
                            }
                            let expected = Double(alpha) * exact + Double(beta) * Double(c0[i * ldc + j])
                            let scale = Double(abs(alpha)) * magnitude + Double(abs(beta)) * abs(Double(c0[i * ldc + j])) + 1e-30
                            worst = max(worst, abs(Double(c[i * ldc + j]) - expected) / scale)
                        }
                        // Padding between rows must be untouched.
                        for j in n..<ldc where c[i * ldc + j] != c0[i * ldc + j] { worst = .infinity }
                    }
                    record(worst, "sgemm \(transA ? "T" : "N"),\(transB ? "T" : "N") m=\(m) n=\(n) k=\(k) beta=\(beta)")
                }
            }
        }
        for (m, n) in [(7, 5), (64, 256), (300, 129)] {
            for trans in [false, true] {
                let lda = n + 1, a = fill(m * lda), x = fill(trans ? m : n)
                var y = [Float](repeating: 0, count: trans ? n : m)
                a.withUnsafeBufferPointer { pa in
                    x.withUnsafeBufferPointer { px in
                        y.withUnsafeMutableBufferPointer { sgemv(trans: trans, m: m, n: n, a: pa.baseAddress!, lda: lda, x: px.baseAddress!, y: $0.baseAddress!) }
                    }
                }
                var worst = 0.0
                for out in 0..<y.count {
                    var exact = 0.0, magnitude = 0.0
                    for p in 0..<(trans ? m : n) {
                        let v = Double(trans ? a[p * lda + out] : a[out * lda + p]) * Double(x[p])
                        exact += v; magnitude += abs(v)
                    }
                    worst = max(worst, abs(Double(y[out]) - exact) / (magnitude + 1e-30))
                }
                record(worst, "sgemv \(trans ? "T" : "N") m=\(m) n=\(n)")
            }
        }
        // The decode step's small-batch GEMM, when this process runs its own kernels rather than OpenBLAS.
        if DecodeGemm.path == .avx2FMA {
            for (m, n, k) in shapes where m <= DecodeGemm.maxRows {
                for transposed in [false, true] {
                    let ldx = k + 3, ldw = (transposed ? k : n) + 1, ldy = n + 2
                    let x = fill(m * ldx), w = fill((transposed ? n : k) * ldw), y0 = fill(m * ldy)
                    for accumulate in [false, true] {
                        var y = y0
                        x.withUnsafeBufferPointer { px in
                            w.withUnsafeBufferPointer { pw in
                                y.withUnsafeMutableBufferPointer { py in
                                    DecodeGemm.multiply(m: m, n: n, k: k, x: px.baseAddress!, ldx: ldx, w: pw.baseAddress!, ldw: ldw,
                                                        transposedWeight: transposed, y: py.baseAddress!, ldy: ldy,
                                                        accumulate: accumulate, path: .avx2FMA)
                                }
                            }
                        }
                        var worst = 0.0
                        for i in 0..<m {
                            for j in 0..<n {
                                let start = accumulate ? Double(y0[i * ldy + j]) : 0
                                var exact = start, magnitude = abs(start)
                                for p in 0..<k {
                                    let v = Double(x[i * ldx + p]) * Double(transposed ? w[j * ldw + p] : w[p * ldw + j])
                                    exact += v; magnitude += abs(v)
                                }
                                worst = max(worst, abs(Double(y[i * ldy + j]) - exact) / (magnitude + 1e-30))
                            }
                            for j in n..<ldy where y[i * ldy + j] != y0[i * ldy + j] { worst = .infinity }
                        }
                        record(worst, "decode GEMM \(transposed ? "N,T" : "N,N") m=\(m) n=\(n) k=\(k) accumulate=\(accumulate)")
                    }
                }
            }
        }
        if DecodeGemm.path == .avx2FMA {
            for (t, hs) in causalShapes { checkCausalProducts(time: t, headSize: hs, fill: fill, record: record) }
        }
        return result
    }

    /// (time, head size) of the causal attention products checked with pipe's kernels: tails of the
    /// 6-row tiles and the 16-wide panels, and a GPT-2 head.
    public static let causalShapes: [(Int, Int)] = [(7, 5), (37, 20), (130, 64)]

    /// Scores (lower triangle), P·V and Pᵀ·V of `CausalProducts` on pipe's kernels against float64, with
    /// operands as strided views and the output's padding columns checked untouched.
    private static func checkCausalProducts(time t: Int, headSize hs: Int, fill: (Int) -> [Float],
                                            record: (Double, String) -> Void) {
        let products = CausalProducts(time: t, headSize: hs, rowBlock: 64, path: .avx2FMA)
        let ld = hs + 3, ldy = hs + 2
        let x = fill(t * ld), b = fill(t * ld)
        // A lower-triangular P, as the softmax leaves it.
        var p = fill(t * t)
        for i in 0..<t { for j in 0..<t where j > i { p[i * t + j] = 0 } }
        func worstError(_ got: [Float], _ ldg: Int, rows: Int, columns: (Int) -> Range<Int>,
                        term: (Int, Int) -> [Double]) -> Double {
            var worst = 0.0
            for i in 0..<rows {
                for j in columns(i) {
                    let terms = term(i, j)
                    let exact = terms.reduce(0, +), magnitude = terms.reduce(0) { $0 + abs($1) }
                    worst = max(worst, abs(Double(got[i * ldg + j]) - exact) / (magnitude + 1e-30))
                }
            }
            return worst
        }
        var scores = [Float](repeating: 0, count: t * t)
        x.withUnsafeBufferPointer { px in
            b.withUnsafeBufferPointer { pb in
                scores.withUnsafeMutableBufferPointer { products.scores(px.baseAddress!, ldx: ld, keys: pb.baseAddress!, ldb: ld, alpha: 0.5, into: $0.baseAddress!) }
            }
        }
        record(worstError(scores, t, rows: t, columns: { 0..<($0 + 1) }) { i, j in
            (0..<hs).map { 0.5 * Double(x[i * ld + $0]) * Double(b[j * ld + $0]) }
        }, "causal scores t=\(t) hs=\(hs)")
        for transposed in [false, true] {
            let y0 = fill(t * ldy)
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
            var worst = worstError(y, ldy, rows: t, columns: { _ in 0..<hs }) { i, j in
                transposed ? (i..<t).map { Double(p[$0 * t + i]) * Double(b[$0 * ld + j]) }
                           : (0...i).map { Double(p[i * t + $0]) * Double(b[$0 * ld + j]) }
            }
            for i in 0..<t { for j in hs..<ldy where y[i * ldy + j] != y0[i * ldy + j] { worst = .infinity } }
            record(worst, "causal \(transposed ? "Pᵀ·V" : "P·V") t=\(t) hs=\(hs)")
        }
    }
}
