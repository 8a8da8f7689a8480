import Testing
import Tensor
@testable import Models

/// The KV-cached decode step runs its projections and the tied LM head through `DecodeGemm`; these
/// check it against the full re-forward (OpenBLAS) and against itself.
@Suite("Decode step through the small-batch GEMM")
struct DecodeStepTests {
    /// Widths that leave tails in every kernel: C = 40 (16 + 16 + 8), 3C = 120, 4C = 160, V = 37
    /// (not a multiple of the LM head's 3-row blocks), 5 rows (not a multiple of 6 or 4).
    static func config() -> GPTConfig {
        var c = GPTConfig(vocabSize: 37, maxPositions: 24, channels: 40, layers: 2, heads: 4)
        c.initializerRange = 0.2
        return c
    }

    static let prompts: [[Int32]] = [[3, 1, 4, 1, 5, 9], [2, 6], [5, 3, 5, 8, 9, 7], [9], [3, 2, 3, 8]]

    static var paths: [DecodeGemm.Path] { DecodeGemm.kernelsSupported ? [.avx2FMA, .openBLAS] : [.openBLAS] }

    /// Greedy generation on `path`; returns the tokens and the logits the last token was chosen from.
    static func greedy(_ model: GPTModel, path: DecodeGemm.Path, steps: Int = 8) -> (Generation, [Float]) {
        let batch = TokenBatch.leftPadded(prompts, padToken: 0)
        let options = SamplingOptions(maxNewTokens: steps, greedy: true)
        _ = model.generate(prompts: batch, options: options)  // allocates the cache this shape reuses
        model.kvCache!.gemmPath = path
        let generation = model.generate(prompts: batch, options: options)
        #expect(model.kvCache!.gemmPath == path, "the cache must be reused, or the path was not applied")
        return (generation, model.kvCache!.logits.array)
    }

    @Test(arguments: paths)
    func cachedLogitsEqualTheFullReforward(path: DecodeGemm.Path) throws {
        let model = try GPTModel(config: Self.config(), seed: 31)
        let v = model.config.vocabSize, steps = 8
        let (generation, cached) = Self.greedy(model, path: path, steps: steps)
        #expect(generation.steps == steps)
        // The last token was chosen from logits after prompt + the first steps − 1 generated tokens.
        let sequences = Self.prompts.enumerated().map { b, prompt in prompt + generation.row(b).prefix(steps - 1) }
        let batch = TokenBatch.leftPadded(sequences, padToken: 0)
        model.forward(batch)
        var worst: Float = 0
        for b in 0..<sequences.count {
            for j in 0..<v {
                let full = model.logits[(b * batch.time + batch.time - 1) * v + j]
                worst = max(worst, abs(cached[b * v + j] - full) / max(1, abs(full)))
            }
        }
        #expect(worst < 1e-5, "\(path): worst logit difference \(worst)")
    }

    @Test(arguments: paths)
    func greedyDecodeIsIdenticalAcrossRuns(path: DecodeGemm.Path) throws {
        let (first, firstLogits) = Self.greedy(try GPTModel(config: Self.config(), seed: 32), path: path)
        let (second, secondLogits) = Self.greedy(try GPTModel(config: Self.config(), seed: 32), path: path)
        #expect(first == second)
        #expect(firstLogits.map(\.bitPattern) == secondLogits.map(\.bitPattern))
    }

    @Test func kernelAndOpenBLASPathsAgree() throws {
        try #require(DecodeGemm.kernelsSupported, "needs AVX2 + FMA")
        let model = try GPTModel(config: Self.config(), seed: 33)
        let (kernel, kernelLogits) = Self.greedy(model, path: .avx2FMA)
        let (blas, blasLogits) = Self.greedy(model, path: .openBLAS)
        #expect(kernel.tokens == blas.tokens)
        for (x, y) in zip(kernelLogits, blasLogits) { #expect(abs(x - y) <= 1e-5 * max(1, abs(y))) }
    }
}
