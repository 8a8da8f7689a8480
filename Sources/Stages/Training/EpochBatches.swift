import Models
import Tensor

/// Minibatch indices over a fixed set of examples, epoch after epoch: each epoch visits them in a fresh
/// order shuffled from the trainer's stream; the last partial minibatch of an epoch is dropped. Knows
/// how to redraw the current epoch's order on resume, so a trainer's state is its step and two counters.
public struct EpochBatches: Sendable {
    public let count: Int
    public let batchSize: Int
    public let stepsPerEpoch: Int
    private var order: [Int] = []
    /// The stream's counter before this epoch's order was drawn.
    public private(set) var epochStartCounter: UInt64 = 0

    public init(count: Int, batchSize: Int) {
        self.count = count
        self.batchSize = batchSize
        self.stepsPerEpoch = max(1, count / batchSize)
    }

    /// The examples of optimiser step `step` (0-based); draws a new order when an epoch starts.
    public mutating func indices(step: Int, random: inout RandomStream) -> [Int] {
        let k = step % stepsPerEpoch
        if k == 0 { drawOrder(&random) }
        return Array(order[(k * batchSize)..<min(order.count, (k + 1) * batchSize)])
    }

    /// Restores the position after `step` completed steps: mid-epoch, the epoch's order is redrawn from
    /// `epochStartCounter`; the stream continues at `counter`.
    public mutating func restore(step: Int, epochStartCounter: UInt64, counter: UInt64, random: inout RandomStream) {
        if step % stepsPerEpoch != 0 {
            random = RandomStream(seed: random.generator.seed, stream: random.stream, counter: epochStartCounter)
            drawOrder(&random)
        }
        random = RandomStream(seed: random.generator.seed, stream: random.stream, counter: counter)
    }

    private mutating func drawOrder(_ random: inout RandomStream) {
        epochStartCounter = random.counter
        order = Array(0..<count)
        random.shuffle(&order)
    }
}

extension TrainerState {
    /// The scalar state of a trainer that walks `EpochBatches`: its step and the two stream counters.
    struct EpochPosition: Codable { var step: Int; var randomCounter: UInt64; var epochStartCounter: UInt64 }

    /// Checkpoint of a model trained on epochs of shuffled minibatches (rm, dpo).
    static func saveEpochTrainer(_ model: GPTModel, optimizer: AdamW, step: Int, random: RandomStream,
                                 batches: EpochBatches, to directory: String) throws {
        try saveModel(model, optimizer: optimizer, to: directory)
        try writeJSON(EpochPosition(step: step, randomCounter: random.counter, epochStartCounter: batches.epochStartCounter),
                      to: directory + "/state.json")
    }

    /// Restores what `saveEpochTrainer` wrote; returns the step.
    static func restoreEpochTrainer(_ model: GPTModel, optimizer: AdamW, random: inout RandomStream,
                                    batches: inout EpochBatches, from directory: String) throws -> Int {
        let position = try readJSON(EpochPosition.self, from: directory + "/state.json")
        try restoreModel(model, optimizer: optimizer, from: directory)
        batches.restore(step: position.step, epochStartCounter: position.epochStartCounter, counter: position.randomCounter, random: &random)
        return position.step
    }
}
