import Testing
@testable import Models

/// The memory asked of a training pass before it runs: the estimate covers the activation arena the
/// model really lays out, and a shape no machine holds is a message, not an abort.
@Suite struct PassMemoryTests {
    @Test func theEstimateCoversTheArenaItWillAllocate() {
        for (config, batch, time) in [(GPTConfig(vocabSize: 300, maxPositions: 64, channels: 32, layers: 2, heads: 2), 4, 16),
                                      (GPTConfig(vocabSize: 6000, maxPositions: 128, channels: 256, layers: 4, heads: 4), 16, 128),
                                      (GPTConfig(vocabSize: 50, maxPositions: 8, channels: 8, layers: 1, heads: 1), 1, 1)] {
            let arena = Double(ActivationLayout(config: config, batch: batch, time: time, logitRows: .all).count) * 4
            let estimate = MemoryBudget.activationBytes(config, batch: batch, time: time)
            #expect(estimate >= arena && estimate <= arena * 1.01, "\(batch)×\(time): \(estimate) vs \(arena)")
        }
    }

    /// An MLP narrower or wider than 4 × n_embd (`n_inner`) is counted at its own width.
    @Test func theEstimateFollowsNInner() {
        for inner in [40, 1000] {
            var config = GPTConfig(vocabSize: 300, maxPositions: 64, channels: 32, layers: 2, heads: 2)
            config.innerChannels = inner
            let arena = Double(ActivationLayout(config: config, batch: 4, time: 16, logitRows: .all).count) * 4
            let estimate = MemoryBudget.activationBytes(config, batch: 4, time: 16)
            #expect(estimate >= arena && estimate <= arena * 1.01, "n_inner \(inner): \(estimate) vs \(arena)")
        }
    }

    @Test func hugePassesAreRefusedSmallOnesPass() throws {
        let model = try GPTModel(config: GPTConfig(vocabSize: 300, maxPositions: 1 << 20, channels: 8, layers: 1, heads: 1), seed: 1)
        #expect(model.passMemoryProblem(batch: 2, time: 64) == nil)
        let problem = try #require(model.passMemoryProblem(batch: 65536, time: 1 << 20))
        #expect(problem.hasPrefix("a pass of 65536 × 1048576 tokens needs "), "\(problem)")
        // Sizes whose Int products would overflow are estimated in floating point.
        #expect(MemoryBudget.activationBytes(model.config, batch: Int.max, time: Int.max).isFinite)
    }
}
