import Tensor

extension WorkerPool {
    /// Blocks of `sumOfSquaresBlock` elements per task: enough work to outweigh handing it out.
    static let sumOfSquaresBlocksPerTask = 32

    /// `sumOfSquares(x, count:)` with the blocks' Float partial sums computed on the pool's threads
    /// (each block by the same code, on its own) and added in block order in Double, as it adds them:
    /// the same Double, bit for bit, for any thread count.
    public func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        let block = sumOfSquaresBlock, perTask = Self.sumOfSquaresBlocksPerTask
        let blocks = (count + block - 1) / block
        var partials = [Double](repeating: 0, count: blocks)
        partials.withUnsafeMutableBufferPointer { out in
            let slots = out.baseAddress!
            run(tasks: (blocks + perTask - 1) / perTask) { task in
                for b in (task * perTask)..<min(blocks, (task + 1) * perTask) {
                    let start = b * block
                    // One block alone: 0 + its Float partial, exactly that partial in Double.
                    slots[b] = Tensor.sumOfSquares(x + start, count: min(block, count - start))
                }
            }
        }
        var total: Double = 0
        for partial in partials { total += partial }
        return total
    }
}
