import Tensor

extension WorkerPool {
    /// Blocks of `sumOfSquaresBlock` elements per task: enough work to outweigh handing it out.
    static let sumOfSquaresBlocksPerTask = 32

    /// `sumOfSquares(x, count:)` with the blocks' Float partial sums computed on the pool's threads
    /// (each block summed in its own fixed order) and added in block order in Double, as it adds them:
    /// the same Double, bit for bit, for any thread count.
    public func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        let block = sumOfSquaresBlock, perTask = Self.sumOfSquaresBlocksPerTask
        let blocks = (count + block - 1) / block
        var partials = [Float](repeating: 0, count: blocks)
        partials.withUnsafeMutableBufferPointer { out in
            let slots = out.baseAddress!
            run(tasks: (blocks + perTask - 1) / perTask) { task in
                let first = task * perTask
                blockSumsOfSquares(x, count: count, blocks: first..<min(blocks, first + perTask), into: slots + first)
            }
        }
        var total: Double = 0
        for partial in partials { total += Double(partial) }
        return total
    }
}
