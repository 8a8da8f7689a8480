import Testing
import Tensor
@testable import Models

@Suite struct ModelReplicasTests {
    static let threadCounts = [1, 2, 3, 8]

    /// Runs a sharded next-token step (forward, loss, backward per 4-row shard) with `threads` workers
    /// and returns the summed gradients and the loss.
    func shardedGradients(threads: Int, rows: Int = 11, time: Int = 10) throws -> (gradients: [Float], loss: Float) {
        let model = try GPTModel(config: tinyConfig(), seed: 4)
        let replicas = ModelReplicas(model, pool: WorkerPool(threads: threads))
        let tokens = randomTokens(rows * time, vocab: 13, seed: 8), targets = randomTokens(rows * time, vocab: 13, seed: 9)
        let shards = RowShards.ranges(rows: rows, size: RowShards.trainingRows)
        let losses = replicas.accumulateGradients(shards: shards.count) { shard, replica in
            let span = (shards[shard].lowerBound * time)..<(shards[shard].upperBound * time)
            replica.forward(TokenBatch(tokens: Array(tokens[span]), batch: shards[shard].count, time: time))
            let loss = replica.crossEntropy(targets: Array(targets[span]), normalizer: Float(rows * time))
            replica.backward(dLogits: replica.logits.baseAddress!)
            return loss
        }
        return (model.gradients.array, losses.reduce(0, +))
    }

    @Test func gradientsAreTheSameBytesForAnyThreadCount() throws {
        let one = try shardedGradients(threads: 1)
        for threads in Self.threadCounts.dropFirst() {
            let other = try shardedGradients(threads: threads)
            #expect(other.gradients == one.gradients, "\(threads) threads")
            #expect(other.loss == one.loss, "\(threads) threads")
        }
    }

    @Test func shardedGradientsMatchTheWholeBatch() throws {
        // Same numbers as one pass over the whole batch, up to summation order.
        let rows = 11, time = 10
        let (sharded, loss) = try shardedGradients(threads: 2, rows: rows, time: time)
        let model = try GPTModel(config: tinyConfig(), seed: 4)
        model.forward(TokenBatch(tokens: randomTokens(rows * time, vocab: 13, seed: 8), batch: rows, time: time))
        let whole = model.crossEntropy(targets: randomTokens(rows * time, vocab: 13, seed: 9))
        model.zeroGradients()
        model.backward(dLogits: model.logits.baseAddress!)
        #expect(abs(loss - whole) < 1e-5 * abs(whole))
        let reference = model.gradients.array
        let scale = reference.map(abs).max()!
        for i in reference.indices { #expect(abs(sharded[i] - reference[i]) <= 1e-5 * scale, "gradient \(i)") }
    }

    @Test func addingKeepsWhatTheGradientsHeld() throws {
        let model = try GPTModel(config: tinyConfig(), seed: 4)
        let replicas = ModelReplicas(model, pool: WorkerPool(threads: 2))
        for i in 0..<model.parameterCount { model.gradients[i] = 1 }
        // A body that writes the gradients itself claims its (stale) buffer with zeroGradients() first.
        replicas.accumulateGradients(shards: 3, adding: true) { shard, replica in
            replica.zeroGradients()
            for i in 0..<replica.parameterCount { replica.gradients[i] = Float(shard + 1) }
        }
        #expect(model.gradients.array.allSatisfy { $0 == 7 })
        replicas.accumulateGradients(shards: 2) { _, replica in
            replica.zeroGradients()
            for i in 0..<replica.parameterCount { replica.gradients[i] = 0.5 }
        }
        #expect(model.gradients.array.allSatisfy { $0 == 1 })
        // A shard without backward or writes adds nothing, whatever its buffer held before.
        replicas.accumulateGradients(shards: 3, adding: true) { shard, replica in
            if shard == 1 {
                replica.zeroGradients()
                for i in 0..<replica.parameterCount { replica.gradients[i] = 2 }
            }
        }
        #expect(model.gradients.array.allSatisfy { $0 == 3 })
    }

    /// A sharded value + policy step (value head, compact LM-head rows) whose replicas' buffers hold the
    /// previous step's gradients: backward overwrites them, so the sum equals zeroing first.
    @Test func staleShardBuffersGiveTheBytesOfZeroedOnes() throws {
        var config = tinyConfig()
        config.valueHead = true
        let rows = 11, time = 10
        let tokens = randomTokens(rows * time, vocab: 13, seed: 8)
        let shards = RowShards.ranges(rows: rows, size: RowShards.trainingRows)
        func step(_ replicas: ModelReplicas, logits: Bool, zeroFirst: Bool = false) {
            replicas.accumulateGradients(shards: shards.count) { shard, replica in
                if zeroFirst { replica.zeroGradients() }   // the accumulate-onto-zeros path
                let span = (shards[shard].lowerBound * time)..<(shards[shard].upperBound * time)
                let count = shards[shard].count * time
                replica.forward(TokenBatch(tokens: Array(tokens[span]), batch: shards[shard].count, time: time),
                                logitRows: logits ? .only(Array(stride(from: 1, to: count, by: 3))) : .none)
                let dValues = (0..<replica.values.count).map { Float($0 % 5) - 2 }
                let dLogits = replica.logitRows == .none ? nil : replica.logits.baseAddress!
                if let dLogits {
                    for i in 0..<replica.logits.count { dLogits[i] = Float(i % 7) * 0.01 - 0.03 }
                }
                dValues.withUnsafeBufferPointer { replica.backward(dLogits: dLogits, dValues: $0.baseAddress!) }
            }
        }
        for logits in [true, false] {
            let fresh = try GPTModel(config: config, seed: 4)
            step(ModelReplicas(fresh, pool: WorkerPool(threads: 2)), logits: logits)
            // Reference: every buffer zeroed, then the same backward accumulated.
            let reference = try GPTModel(config: config, seed: 4)
            step(ModelReplicas(reference, pool: WorkerPool(threads: 1)), logits: logits, zeroFirst: true)
            let reused = try GPTModel(config: config, seed: 4)
            let replicas = ModelReplicas(reused, pool: WorkerPool(threads: 3))
            step(replicas, logits: !logits)   // fills the buffers with another step's gradients
            step(replicas, logits: logits)
            #expect(reused.gradients.array == fresh.gradients.array, "logits \(logits)")
            #expect(reused.gradients.array == reference.gradients.array, "logits \(logits)")
        }
    }

    @Test func blockGenerationIsTheSameForAnyThreadCount() throws {
        let model = try GPTModel(config: tinyConfig(), seed: 6)
        // 37 prompts of 1–4 tokens: three blocks of 16, 16 and 5 rows, each padded on its own.
        let prompts = (0..<37).map { i in randomTokens(1 + i % 4, vocab: 13, seed: UInt64(100 + i)) }
        var options = SamplingOptions(maxNewTokens: 6, eosTokenID: 3, seed: 12)
        options.temperature = 0.9
        func run(_ threads: Int) -> Generation {
            ModelReplicas(model, pool: WorkerPool(threads: threads)).generate(prompts: prompts, options: options)
        }
        let one = run(1)
        #expect(one.batch == 37 && one.tokens.count == 37 * one.steps)
        for threads in Self.threadCounts.dropFirst() { #expect(run(threads) == one, "\(threads) threads") }
        // A block samples as the same rows of one batch would (stream = row index).
        let block = Array(prompts[16..<32])
        let alone = model.generate(prompts: TokenBatch.leftPadded(block, padToken: 0), options: options, firstRow: 16)
        for (i, b) in (16..<32).enumerated() { #expect(Array(alone.row(i)) == Array(one.row(b)), "row \(b)") }
    }

    @Test func trainingShardsDependOnTheBatchAloneAndStayFew() {
        #expect(RowShards.training(rows: 10) == [0..<4, 4..<8, 8..<10])
        #expect(RowShards.training(rows: 16).count == 4)
        #expect(RowShards.training(rows: 64) == (0..<8).map { ($0 * 8)..<($0 * 8 + 8) })
        let large = RowShards.training(rows: 100)
        #expect(large.count == 8 && large.first == 0..<13 && large.last == 91..<100)
        #expect(RowShards.training(rows: 0).isEmpty)
    }

    @Test func poolRunsEveryTaskOnceAndReturnsAfterAll() {
        let pool = WorkerPool(threads: 3)
        for count in [0, 1, 2, 7, 64] {
            var hits = [Int](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { h in
                let p = h.baseAddress
                pool.run(tasks: count) { task in p![task] += 1 }
            }
            #expect(hits == [Int](repeating: 1, count: count))
        }
    }
}
