import Tensor

/// Builds language-model training batches from tokenised documents (reviews). Every row starts at a
/// document boundary with the separator token (EOS used as BOS, GPT-2 style), then packs following
/// documents, each preceded by the separator, until `blockSize + 1` tokens; so position 0 always sees the
/// start of a review, as at sampling time where prompts are `[EOS] + prompt`.
public struct DocumentBatcher: Sendable {
    public let documents: [[Int32]]
    public let separator: Int32
    public let blockSize: Int

    public init(documents: [[Int32]], separator: Int32, blockSize: Int) throws {
        let nonEmpty = documents.filter { !$0.isEmpty }
        guard !nonEmpty.isEmpty else { throw StageError.failed("no non-empty documents to train on") }
        self.documents = nonEmpty
        self.separator = separator
        self.blockSize = blockSize
    }

    /// One row of `blockSize + 1` tokens starting at document `start` (inputs = row[0..<T], targets =
    /// row[1...T]).
    public func row(startingAt start: Int) -> [Int32] {
        var row: [Int32] = []
        row.reserveCapacity(blockSize + 1)
        var d = start
        while row.count < blockSize + 1 {
            row.append(separator)
            for token in documents[d % documents.count] where row.count < blockSize + 1 { row.append(token) }
            d += 1
        }
        return row
    }

    /// `batchSize` rows at random document starts, flattened as (inputs, targets) `[batchSize × blockSize]`.
    public func batch(size batchSize: Int, random: inout RandomStream) -> (inputs: [Int32], targets: [Int32]) {
        var inputs: [Int32] = [], targets: [Int32] = []
        inputs.reserveCapacity(batchSize * blockSize); targets.reserveCapacity(batchSize * blockSize)
        for _ in 0..<batchSize {
            let r = row(startingAt: random.nextInt(below: documents.count))
            inputs.append(contentsOf: r[0..<blockSize])
            targets.append(contentsOf: r[1...blockSize])
        }
        return (inputs, targets)
    }

    /// Deterministic evaluation batches: rows starting at evenly spaced documents.
    public func evaluationBatch(index: Int, size batchSize: Int, of batches: Int) -> (inputs: [Int32], targets: [Int32]) {
        var inputs: [Int32] = [], targets: [Int32] = []
        let stride = max(documents.count / max(batchSize * batches, 1), 1)
        for b in 0..<batchSize {
            let r = row(startingAt: ((index * batchSize + b) * stride) % documents.count)
            inputs.append(contentsOf: r[0..<blockSize])
            targets.append(contentsOf: r[1...blockSize])
        }
        return (inputs, targets)
    }
}
