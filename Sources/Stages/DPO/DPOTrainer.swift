import Foundation
import Models
import Tensor

/// Hyper-parameters of direct preference optimisation (the `dpo` stage's params; docs and defaults in
/// stages/dpo.yaml and stages/shared/optimizer.yaml).
public struct DPOConfig: Sendable, Equatable {
    public var beta: Double
    public var lossType: DPOLoss.Kind
    public var labelSmoothing: Double
    /// Weight of the chosen completions' mean token NLL added to the loss (0 = plain preference loss).
    public var sftWeight: Double
    public var batchSize: Int
    public var epochs: Int
    public var maxLength: Int
    public var precomputeReference: Bool
    public var optimizer: OptimizerSettings
    public var checkpointEvery: Int

    public init(_ p: StageParams) throws {
        beta = try p.double("beta")
        let type = try p.string("loss_type")
        guard let kind = DPOLoss.Kind(rawValue: type) else {
            throw StageError.badParam("loss_type", "'\(type)' is not one of \(DPOLoss.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        lossType = kind
        labelSmoothing = try p.double("label_smoothing")
        sftWeight = try p.double("sft_weight")
        batchSize = try p.int("batch_size")
        epochs = try p.int("epochs")
        maxLength = try p.int("max_length")
        precomputeReference = try p.bool("precompute_ref")
        optimizer = try OptimizerSettings(p)
        checkpointEvery = try p.int("checkpoint_every")
        guard beta > 0 else { throw StageError.badParam("beta", "must be > 0, got \(beta)") }
        guard labelSmoothing >= 0, labelSmoothing < 0.5 else {
            throw StageError.badParam("label_smoothing", "must be in [0, 0.5), got \(labelSmoothing)")
        }
        guard sftWeight >= 0 else { throw StageError.badParam("sft_weight", "must be ≥ 0, got \(sftWeight)") }
        guard maxLength >= 2 else { throw StageError.badParam("max_length", "must be ≥ 2 tokens (a prompt token and a completion token)") }
    }
}

/// A preference pair as DPO sees it: a prompt (≥ 1 token: the `[EOS]` that starts every sequence when the
/// pair has no shared prompt) and two completions, cut to `max_length` keeping the start.
public struct CompletionPair: Sendable, Equatable {
    public var chosenPrompt: [Int32], chosen: [Int32]
    public var rejectedPrompt: [Int32], rejected: [Int32]

    /// Splits an `rm-pairs` pair at its prompt length; nil when a side has no completion token.
    public init?(_ pair: PreferencePair, maxLength: Int) {
        let promptLength = max(1, pair.promptLength)
        func split(_ tokens: [Int32]) -> ([Int32], [Int32])? {
            guard tokens.count > promptLength else { return nil }
            let prompt = Array(tokens.prefix(min(promptLength, maxLength - 1)))
            return (prompt, Array(tokens[promptLength...].prefix(maxLength - prompt.count)))
        }
        guard let c = split(pair.chosen), let r = split(pair.rejected) else { return nil }
        (chosenPrompt, chosen, rejectedPrompt, rejected) = (c.0, c.1, r.0, r.1)
    }
}

/// DPO: for a minibatch of pairs, the chosen and rejected sequences go through the policy as one batch
/// (queries left-padded, completions right-padded), their completion log-probs are summed, and the loss
/// of `DPOLoss` is backpropagated through them. Reference log-probs are computed once up front
/// (`precompute_ref`) or per minibatch from the frozen reference model. The passes run in row shards
/// of the minibatch's batch on the pool's threads (`ModelReplicas`).
public final class DPOTrainer: Trainer {
    public let config: DPOConfig
    public let policy: GPTModel
    let policyReplicas: ModelReplicas
    public let optimizer: AdamW
    public let pairs: [CompletionPair]
    public let heldOut: [CompletionPair]
    public let pad: Int32
    public let totalSteps: Int
    var batches: EpochBatches
    let schedule: LearningRateSchedule
    /// The frozen reference when its log-probs are not precomputed.
    let reference: ModelReplicas?
    /// Reference (chosen, rejected) completion log-prob sums per pair, when precomputed.
    var referenceLogps: [(Double, Double)]?
    var heldOutReferenceLogps: [(Double, Double)]
    public var random: RandomStream
    public private(set) var step = 0

    public init(config: DPOConfig, policy: GPTModel, reference: GPTModel, pairs: [CompletionPair], heldOut: [CompletionPair],
                pad: Int32, seed: UInt64, pool: WorkerPool = WorkerPool(threads: 1)) throws {
        guard !pairs.isEmpty else { throw StageError.failed("dpo: no training pairs") }
        self.config = config
        self.policy = policy
        policyReplicas = ModelReplicas(policy, pool: pool)
        let reference = ModelReplicas(reference, pool: pool)
        self.pairs = pairs
        self.heldOut = heldOut
        self.pad = pad
        self.optimizer = config.optimizer.optimizer(for: policy)
        self.batches = EpochBatches(count: pairs.count, batchSize: config.batchSize)
        self.totalSteps = config.epochs * batches.stepsPerEpoch
        self.schedule = config.optimizer.schedule(totalSteps: totalSteps)
        self.random = RandomStream(seed: seed, stream: streamID(0x4450_4F)) // "DPO"
        heldOutReferenceLogps = Self.sums(reference, heldOut, pad: pad, batchSize: config.batchSize)
        if config.precomputeReference {
            referenceLogps = Self.sums(reference, pairs, pad: pad, batchSize: config.batchSize)
            self.reference = nil
        } else {
            self.reference = reference
        }
    }

    /// Chosen rows then rejected rows, with each row's completion mask.
    static func batch(_ pairs: [CompletionPair], pad: Int32) -> (QueryResponseBatch, mask: [Float]) {
        let r = pairs.map { max($0.chosen.count, $0.rejected.count) }.max() ?? 1
        var queries: [[Int32]] = [], responses: [Int32] = [], mask: [Float] = []
        for side in 0..<2 {
            for p in pairs {
                let (prompt, completion) = side == 0 ? (p.chosenPrompt, p.chosen) : (p.rejectedPrompt, p.rejected)
                queries.append(prompt)
                responses += completion + Array(repeating: pad, count: r - completion.count)
                mask += Array(repeating: 1, count: completion.count) + Array(repeating: 0, count: r - completion.count)
            }
        }
        return (QueryResponseBatch(queries: queries, responses: responses, responseMask: mask, responseLength: r, pad: pad), mask)
    }

    /// Per-row sums of the masked completion log-probs.
    static func rowSums(_ logp: [Float], mask: [Float], rows: Int) -> [Double] {
        let r = logp.count / rows
        return (0..<rows).map { row in
            var s = 0.0
            for t in 0..<r where mask[row * r + t] > 0 { s += Double(logp[row * r + t]) }
            return s
        }
    }

    /// (chosen, rejected) completion log-prob sums of `model` over `pairs`, `batchSize` pairs a pass.
    static func sums(_ model: ModelReplicas, _ pairs: [CompletionPair], pad: Int32, batchSize: Int) -> [(Double, Double)] {
        var result: [(Double, Double)] = []
        for start in stride(from: 0, to: pairs.count, by: batchSize) {
            let slice = Array(pairs[start..<min(pairs.count, start + batchSize)])
            let (qr, mask) = batch(slice, pad: pad)
            let scores = model.scoreResponses(qr, temperature: 1, entropy: false)
            let s = rowSums(scores.logp, mask: mask, rows: 2 * slice.count)
            for i in slice.indices { result.append((s[i], s[slice.count + i])) }
        }
        return result
    }

    public func trainStep() throws -> [(String, Double)] {
        let indices = batches.indices(step: step, random: &random)
        let slice = indices.map { pairs[$0] }
        let references: [(Double, Double)]
        if let referenceLogps {
            references = indices.map { referenceLogps[$0] }
        } else {
            references = Self.sums(reference!, slice, pad: pad, batchSize: slice.count)
        }
        let result = lossAndGradients(slice, references: references)
        let lr = schedule.rate(at: step)
        let norm = config.optimizer.apply(optimizer, to: policy, learningRate: lr, pool: policyReplicas.pool)
        step += 1
        return result.metrics.map { ("train/" + $0.0, $0.1) } + [("train/lr", Double(lr)), ("train/grad_norm", Double(norm))]
    }

    /// The loss of a minibatch with its gradient accumulated into the policy's (zeroed first).
    func lossAndGradients(_ slice: [CompletionPair], references: [(Double, Double)]) -> DPOLoss.Result {
        let (qr, mask) = Self.batch(slice, pad: pad)
        let scores = policyReplicas.scoreResponses(qr, temperature: 1, entropy: false, forBackward: true)
        let rows = 2 * slice.count, r = qr.responseLength
        let sums = Self.rowSums(scores.logp, mask: mask, rows: rows)
        let input = slice.indices.map { i in
            DPOLoss.Pair(policyChosen: sums[i], policyRejected: sums[slice.count + i],
                         referenceChosen: references[i].0, referenceRejected: references[i].1,
                         chosenTokens: slice[i].chosen.count, rejectedTokens: slice[i].rejected.count)
        }
        let result = DPOLoss.evaluate(input, kind: config.lossType, beta: config.beta, labelSmoothing: config.labelSmoothing,
                                      sftWeight: config.sftWeight)
        // ∂loss/∂logp of each completion token is its sequence's gradient; padding gets none.
        var dLogp = [Float](repeating: 0, count: rows * r)
        for row in 0..<rows {
            let g = Float(row < slice.count ? result.gradChosen[row] : result.gradRejected[row - slice.count])
            for t in 0..<r where mask[row * r + t] > 0 { dLogp[row * r + t] = g }
        }
        policyReplicas.backwardResponses(qr, temperature: 1, dLogp: dLogp, dValues: nil)
        return result
    }

    /// Implicit-reward pair accuracy, margin and loss on the held-out pairs.
    public func evaluate() throws -> [(String, Double)] {
        guard !heldOut.isEmpty else { return [] }
        let sums = Self.sums(policyReplicas, heldOut, pad: pad, batchSize: config.batchSize)
        let input = heldOut.indices.map { i in
            DPOLoss.Pair(policyChosen: sums[i].0, policyRejected: sums[i].1,
                         referenceChosen: heldOutReferenceLogps[i].0, referenceRejected: heldOutReferenceLogps[i].1,
                         chosenTokens: heldOut[i].chosen.count, rejectedTokens: heldOut[i].rejected.count)
        }
        let result = DPOLoss.evaluate(input, kind: config.lossType, beta: config.beta, labelSmoothing: config.labelSmoothing,
                                      sftWeight: config.sftWeight)
        return result.metrics.map { ("eval/" + $0.0, $0.1) }
    }

    public func saveState(to directory: String) throws {
        try TrainerState.saveEpochTrainer(policy, optimizer: optimizer, step: step, random: random, batches: batches, to: directory)
    }

    public func restoreState(from directory: String) throws {
        step = try TrainerState.restoreEpochTrainer(policy, optimizer: optimizer, random: &random, batches: &batches, from: directory)
    }
}
