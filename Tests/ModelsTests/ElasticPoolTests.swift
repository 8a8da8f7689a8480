import Foundation
import Testing
import Tensor
@testable import Models

/// A budget that moves through `counts`, one entry per safe point (every `run` and `stream` asks
/// once), then stays on the last: the pool changes its worker count between shard batches.
final class ScriptedBudget: ThreadBudgetSource, @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int]
    private(set) var asked = 0

    init(_ counts: [Int]) { self.counts = counts }

    func currentBudget() -> Int? {
        lock.lock(); defer { lock.unlock() }
        asked += 1
        return counts.count > 1 ? counts.removeFirst() : counts.first
    }
}

@Suite struct ElasticPoolTests {
    /// Forward/backward over shards, the shard-order reduction and a worker-indexed stream, three
    /// rounds, on `pool`: the gradients, losses and stream results.
    func work(on pool: WorkerPool) throws -> (gradients: [Float], losses: [Float], streamed: [Float]) {
        let model = try GPTModel(config: tinyConfig(), seed: 4)
        let replicas = ModelReplicas(model, pool: pool)
        let rows = 11, time = 10
        let tokens = randomTokens(rows * time, vocab: 13, seed: 8), targets = randomTokens(rows * time, vocab: 13, seed: 9)
        let shards = RowShards.ranges(rows: rows, size: RowShards.trainingRows)
        var losses: [Float] = [], streamed: [Float] = []
        for round in 0..<3 {
            losses += replicas.accumulateGradients(shards: shards.count, adding: round > 0) { shard, replica in
                let span = (shards[shard].lowerBound * time)..<(shards[shard].upperBound * time)
                replica.forward(TokenBatch(tokens: Array(tokens[span]), batch: shards[shard].count, time: time))
                let loss = replica.crossEntropy(targets: Array(targets[span]), normalizer: Float(rows * time))
                replica.backward(dLogits: replica.logits.baseAddress!)
                return loss
            }
            streamed += replicas.stream(shards: shards.count) { shard, replica in
                let span = (shards[shard].lowerBound * time)..<(shards[shard].upperBound * time)
                replica.forward(TokenBatch(tokens: Array(tokens[span]), batch: shards[shard].count, time: time))
                return replica.crossEntropy(targets: Array(targets[span]))
            }
        }
        return (model.gradients.array, losses, streamed)
    }

    /// The budget goes 1 → 2 → 1 → 3 → 2 → 8 → 1 between shard batches: the same bytes as a fixed pool.
    @Test func aBudgetThatChangesMidRunGivesTheSameBytesAsAFixedPool() throws {
        let fixed = try work(on: WorkerPool(threads: 1))
        let budget = ScriptedBudget([1, 2, 1, 3, 2, 8, 1, 2, 1])
        let pool = WorkerPool(threads: 1, budget: budget)
        let elastic = try work(on: pool)
        #expect(elastic.gradients == fixed.gradients)
        #expect(elastic.losses == fixed.losses)
        #expect(elastic.streamed == fixed.streamed)
        #expect(pool.threadHistory == [1, 2, 1, 3, 2, 8, 1, 2, 1], "every change was taken at a safe point")
        #expect(budget.asked == 9, "three safe points a round: the forward/backward, the reduction, the stream")
    }

    @Test func theCountFollowsTheBudgetWithinLimitsAndWithoutOneKeepsItsThreads() {
        let budget = ScriptedBudget([2, 0, 100_000, 3])
        let pool = WorkerPool(threads: 4, budget: budget)
        #expect(pool.threads == 4, "the budget is read at the first safe point, not before")
        #expect(pool.adoptBudget() == 2)
        #expect(pool.adoptBudget() == 1, "at least one worker")
        #expect(pool.adoptBudget() == WorkerPool.maxThreads, "a garbled budget cannot start thousands of threads")
        #expect(pool.adoptBudget() == 3)
        let plain = WorkerPool(threads: 2)
        #expect(plain.adoptBudget() == 2 && plain.threadHistory == [2])
    }

    /// Workers above the count take no task, also right after a larger call (a worker still leaving
    /// it must not take the next call's tasks).
    @Test func workersAboveTheCountTakeNoTasks() {
        let pool = WorkerPool(threads: 1, budget: ScriptedBudget((0..<40).flatMap { _ in [8, 2, 8, 1, 3] }))
        for round in 0..<200 {
            let count = pool.adoptBudget()
            var workers = [Int](repeating: -1, count: 64)
            workers.withUnsafeMutableBufferPointer { w in
                let p = w.baseAddress!
                pool.run(tasks: 64, adoptingBudget: false) { task, worker in p[task] = worker }
            }
            #expect(workers.allSatisfy { $0 >= 0 && $0 < count }, "round \(round): \(count) workers")
        }
    }

    /// The pool's block sums give `sumOfSquares`'s Double bit for bit (gradient norms, clipping).
    @Test func pooledSumOfSquaresIsTheSameDoubleForAnyThreadCount() {
        for count in [0, 1, 4095, 4096, 4097, 300_001] {
            var random = RandomStream(seed: 3, stream: UInt64(count))
            let values = (0...count).map { _ in Float(random.nextInt(below: 2001) - 1000) * 1.37e-3 }   // one spare: never empty
            let reference = values.withUnsafeBufferPointer { Tensor.sumOfSquares($0.baseAddress!, count: count) }
            // One block at a time, each a plain Float loop: the definition the interleaved blocks keep.
            var plain: Double = 0
            for start in stride(from: 0, to: count, by: sumOfSquaresBlock) {
                var partial: Float = 0
                for j in start..<min(count, start + sumOfSquaresBlock) { partial += values[j] * values[j] }
                plain += Double(partial)
            }
            #expect(reference.bitPattern == plain.bitPattern, "\(count) values")
            for threads in [1, 2, 3, 8] {
                let pooled = values.withUnsafeBufferPointer { WorkerPool(threads: threads).sumOfSquares($0.baseAddress!, count: count) }
                #expect(pooled.bitPattern == reference.bitPattern, "\(count) values, \(threads) threads")
            }
        }
    }
}
