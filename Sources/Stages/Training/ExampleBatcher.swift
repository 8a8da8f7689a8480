import Tensor

/// One next-token training batch: `inputs` and `targets` `[batch × blockSize]`, and the per-position
/// loss weights (nil: every position counts).
public struct LanguageModelBatch: Sendable {
    public var inputs: [Int32]
    public var targets: [Int32]
    public var lossMask: [Float]?
}

/// Where SFT draws its batches from: packed documents (pre-training on text) or prompt → completion
/// examples (instruction tuning).
public protocol LanguageModelBatches: Sendable {
    var blockSize: Int { get }
    func batch(size: Int, random: inout RandomStream) -> LanguageModelBatch
    /// Deterministic evaluation batch `index` of `batches`.
    func evaluationBatch(index: Int, size: Int, of batches: Int) -> LanguageModelBatch
}

extension DocumentBatcher: LanguageModelBatches {
    public func batch(size: Int, random: inout RandomStream) -> LanguageModelBatch {
        let (inputs, targets): ([Int32], [Int32]) = batch(size: size, random: &random)
        return LanguageModelBatch(inputs: inputs, targets: targets, lossMask: nil)
    }

    public func evaluationBatch(index: Int, size: Int, of batches: Int) -> LanguageModelBatch {
        let (inputs, targets): ([Int32], [Int32]) = evaluationBatch(index: index, size: size, of: batches)
        return LanguageModelBatch(inputs: inputs, targets: targets, lossMask: nil)
    }
}

/// A tokenised prompt → completion example.
public struct PromptCompletionExample: Sendable, Equatable {
    public var prompt: [Int32]
    public var completion: [Int32]
    public init(prompt: [Int32], completion: [Int32]) { self.prompt = prompt; self.completion = completion }
}

/// Prompt → completion rows for instruction tuning: `[EOS] prompt completion [EOS]` (EOS as BOS, as in
/// SFT on documents and at sampling time), the loss on the completion and its closing EOS only (unless
/// `trainOnPrompt`), rows longer than `blockSize + 1` cut at the end (`keepEnd: false`) or by dropping
/// the oldest prompt tokens after the BOS (`keepEnd: true`, so the completion survives), then either
/// padded one example per row or packed several to a row (`packing`).
public struct ExampleBatcher: LanguageModelBatches {
    public let examples: [PromptCompletionExample]
    public let eos: Int32
    public let pad: Int32
    public let blockSize: Int
    public let trainOnPrompt: Bool
    public let keepEnd: Bool
    public let packing: Bool

    public init(examples: [PromptCompletionExample], eos: Int32, pad: Int32, blockSize: Int,
                trainOnPrompt: Bool = false, keepEnd: Bool = false, packing: Bool = false) throws {
        guard !examples.isEmpty else { throw StageError.failed("no prompt-completion examples to train on") }
        self.examples = examples; self.eos = eos; self.pad = pad; self.blockSize = blockSize
        self.trainOnPrompt = trainOnPrompt; self.keepEnd = keepEnd; self.packing = packing
    }

    /// Example `i` as a row of at most `blockSize + 1` tokens and, per token, whether predicting it
    /// counts (the first token, the BOS, is never a target).
    func sequence(_ i: Int) -> (tokens: [Int32], counts: [Bool]) {
        let e = examples[i % examples.count]
        var tokens: [Int32] = [eos] + e.prompt + e.completion + [eos]
        var counts = [Bool](repeating: trainOnPrompt, count: 1 + e.prompt.count) + [Bool](repeating: true, count: e.completion.count + 1)
        counts[0] = false
        let limit = blockSize + 1
        if tokens.count > limit {
            if keepEnd {
                let drop = tokens.count - limit
                tokens.removeSubrange(1...drop); counts.removeSubrange(1...drop)
            } else {
                tokens.removeLast(tokens.count - limit); counts.removeLast(counts.count - limit)
            }
        }
        return (tokens, counts)
    }

    /// One row starting at example `start`: padded, or packed with the following examples.
    func row(startingAt start: Int) -> (inputs: ArraySlice<Int32>, targets: ArraySlice<Int32>, mask: [Float]) {
        var tokens: [Int32] = [], counts: [Bool] = []
        var next = start
        repeat {
            let (t, c) = sequence(next)
            let room = blockSize + 1 - tokens.count
            tokens += t.prefix(room); counts += c.prefix(room)
            next += 1
        } while packing && tokens.count < blockSize + 1
        let real = tokens.count
        if real < blockSize + 1 {
            tokens += [Int32](repeating: pad, count: blockSize + 1 - real)
            counts += [Bool](repeating: false, count: blockSize + 1 - real)
        }
        let mask = counts[1...].map { $0 ? Float(1) : 0 }
        return (tokens[0..<blockSize], tokens[1...blockSize], mask)
    }

    func assemble(_ starts: [Int]) -> LanguageModelBatch {
        var batch = LanguageModelBatch(inputs: [], targets: [], lossMask: [])
        batch.inputs.reserveCapacity(starts.count * blockSize); batch.targets.reserveCapacity(starts.count * blockSize)
        for s in starts {
            let r = row(startingAt: s)
            batch.inputs += r.inputs; batch.targets += r.targets; batch.lossMask! += r.mask
        }
        return batch
    }

    public func batch(size: Int, random: inout RandomStream) -> LanguageModelBatch {
        assemble((0..<size).map { _ in random.nextInt(below: examples.count) })
    }

    public func evaluationBatch(index: Int, size: Int, of batches: Int) -> LanguageModelBatch {
        let stride = max(examples.count / max(size * batches, 1), 1)
        return assemble((0..<size).map { b in ((index * size + b) * stride) % examples.count })
    }
}
