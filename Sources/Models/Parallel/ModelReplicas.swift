import Tensor

/// Deterministic data parallelism for one model: a batch is cut into shards of a fixed number of rows
/// (`RowShards`, never a function of the thread count); shard i runs on replica i (the model's
/// parameters, its own activation arena, KV cache and gradient buffer) on whichever pool thread is
/// free; gradients are summed in shard order, element by element, into `model.gradients`. The bytes are
/// therefore the same for 1, 2, 3 or 8 threads, and the optimiser step runs once on the sum.
///
/// Replicas keep their activations between calls, so a trainer may run every shard's forward, look at
/// the whole batch (a pairwise loss, an early stop), then run the shards' backward.
public final class ModelReplicas: @unchecked Sendable {
    public let model: GPTModel
    public let pool: WorkerPool
    private var replicas: [GPTModel] = []
    private var shardGradients: [FloatBuffer] = []

    public init(_ model: GPTModel, pool: WorkerPool) {
        self.model = model
        self.pool = pool
    }

    /// The replica of shard `shard` (its activations are those of the shard's last forward).
    public func replica(_ shard: Int) -> GPTModel {
        while replicas.count <= shard { replicas.append(GPTModel(replicaOf: model)) }
        return replicas[shard]
    }

    /// Runs `body(shard, replica)` for shards 0..<count in parallel; results in shard order.
    /// `body` may touch only its shard's replica and values it owns.
    @discardableResult
    public func map<Result>(shards count: Int, _ body: (Int, GPTModel) -> Result) -> [Result] {
        for shard in 0..<count { _ = replica(shard) }   // grown on this thread, never inside the pool
        let replicas = self.replicas
        var results = [Result?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { out in
            let slots = out.baseAddress!
            pool.run(tasks: count) { shard in slots[shard] = body(shard, replicas[shard]) }
        }
        return results.map { $0! }
    }

    /// Forward-only work over many shards (scoring, evaluation): `body(shard, replica)` runs on the
    /// replica of the worker that takes the shard, so at most `pool.threads` arenas are used however
    /// many shards there are. Results in shard order. It overwrites the activations of replicas
    /// 0..<threads: call it between complete forward/backward phases, never inside one.
    public func stream<Result>(shards count: Int, _ body: (Int, GPTModel) -> Result) -> [Result] {
        // The worker count is fixed here for the call: any worker may take any shard.
        _ = replica(pool.adoptBudget() - 1)
        let replicas = self.replicas
        var results = [Result?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { out in
            let slots = out.baseAddress!
            pool.run(tasks: count, adoptingBudget: false) { shard, worker in slots[shard] = body(shard, replicas[worker]) }
        }
        return results.map { $0! }
    }

    /// As `map`, with each replica's gradients bound to a zeroed buffer of its own shard; afterwards
    /// `model.gradients` holds the shards' gradients summed in shard order (added to what it held
    /// when `adding`, else replacing it).
    ///
    /// Nothing is zeroed ahead: a shard's first `backward` overwrites its buffer (`gradientsStale`), and
    /// when not `adding`, shard 0 writes straight into `model.gradients` (the sum starts from it, as it
    /// started from a copy of it), so the sum costs one pass per further shard. A body contributes
    /// through `backward`, or by writing `replica.gradients` after `replica.zeroGradients()`; a shard
    /// whose body did neither contributes zeros.
    @discardableResult
    public func accumulateGradients<Result>(shards count: Int, adding: Bool = false,
                                            _ body: (Int, GPTModel) -> Result) -> [Result] {
        let parameters = model.parameterCount
        let direct = !adding && count > 0
        while shardGradients.count < count { shardGradients.append(FloatBuffer(count: parameters)) }
        for shard in 0..<count {
            replica(shard).gradients = direct && shard == 0 ? model.gradients : shardGradients[shard]
        }
        let results = map(shards: count) { shard, replica in
            replica.gradientsStale = true
            let result = body(shard, replica)
            if replica.gradientsStale {   // no backward ran on this shard: its gradient is zero
                replica.gradients.zero()
                replica.gradientsStale = false
            }
            return result
        }
        reduceGradients(shards: count, adding: adding, firstInPlace: direct)
        return results
    }

    /// Elements per reduction task: each element's sum runs over the shards in order whatever the
    /// split, so the split only balances the work.
    static let reductionChunk = 1 << 16

    /// model.gradients (+)= Σ shards in shard order; with `firstInPlace`, shard 0's gradient already
    /// is model.gradients.
    private func reduceGradients(shards count: Int, adding: Bool, firstInPlace: Bool) {
        let total = model.parameterCount, chunk = Self.reductionChunk
        let destination = model.gradients.pointer
        let sources = (0..<count).map { UnsafePointer(shardGradients[$0].pointer) }
        if firstInPlace && count == 1 { return }
        pool.run(tasks: (total + chunk - 1) / chunk) { task in
            let start = task * chunk, n = min(chunk, total - start)
            var first = 0
            if firstInPlace {
                first = 1
            } else if !adding {
                if sources.isEmpty { (destination + start).update(repeating: 0, count: n); return }
                (destination + start).update(from: sources[0] + start, count: n)
                first = 1
            }
            for s in first..<sources.count { accumulate(destination + start, sources[s] + start, count: n) }
        }
    }
}

/// Fixed row shards of a batch. Their size is a constant of the numerics (changing one changes the
/// bytes of every stage that uses it: bump those stages' versions), never derived from the threads.
public enum RowShards {
    /// Rows per shard (sequences of SFT, pairs of the reward model, rows of a PPO minibatch) at least.
    public static let trainingRows = 4
    /// Most shards of one backward pass: each holds a gradient buffer the size of the model until the
    /// shards are summed, so larger batches get larger shards instead of more.
    public static let maxGradientShards = 8
    /// Rows per block of batched generation (each block has its own KV cache and padding).
    public static let samplingRows = 16

    /// The shards of a batch of `rows` that is differentiated: `trainingRows` rows each, or more when
    /// that would give more than `maxGradientShards` shards. A function of the batch size alone.
    public static func training(rows: Int) -> [Range<Int>] {
        let size = max(trainingRows, (rows + maxGradientShards - 1) / maxGradientShards)
        return ranges(rows: rows, size: size)
    }

    /// Consecutive row ranges of `size` rows (the last may be shorter) covering 0..<rows.
    public static func ranges(rows: Int, size: Int) -> [Range<Int>] {
        precondition(size >= 1, "RowShards: shard size must be at least 1")
        return stride(from: 0, to: rows, by: size).map { $0..<min(rows, $0 + size) }
    }
}
