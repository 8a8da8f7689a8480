import Tensor
import Testing

@Suite("BLAS kernel check")
struct KernelCheckTests {
    @Test func loadedKernelsMatchTheDoublePrecisionReference() {
        let result = KernelCheck.run(shapes: KernelCheck.smallShapes)
        let decodeCases = DecodeGemm.path == .avx2FMA ? KernelCheck.smallShapes.filter { $0.0 <= DecodeGemm.maxRows }.count * 4 : 0
        let causalCases = DecodeGemm.path == .avx2FMA ? KernelCheck.causalShapes.count * 3 : 0
        #expect(result.cases == KernelCheck.smallShapes.count * 8 + 6 + decodeCases + causalCases)
        #expect(result.passed, "worst relative error \(result.worstRelativeError) in \(result.worstCase) (OpenBLAS \(BLAS.coreName))")
    }

    @Test func theCheckCatchesAWrongProduct() throws {
        // The reference must not be fooled: the loaded kernels agree to ~1e-7, a perturbed product does not.
        var random = RandomStream(seed: 9)
        let a = (0..<12).map { _ in Float(random.nextUniform()) }, b = (0..<12).map { _ in Float(random.nextUniform()) }
        var c = [Float](repeating: 0, count: 9)
        sgemm(m: 3, n: 3, k: 4, a: a, lda: 4, b: b, ldb: 3, c: &c, ldc: 3)
        var exact = 0.0
        for p in 0..<4 { exact += Double(a[p]) * Double(b[p * 3]) }
        #expect(abs(Double(c[0]) - exact) / exact < KernelCheck.Result.tolerance)
        #expect(abs(Double(c[0]) * 1.001 - exact) / exact > KernelCheck.Result.tolerance)
    }
}
