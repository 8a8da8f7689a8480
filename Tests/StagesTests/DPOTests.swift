import Foundation
import Models
import PipeTestSupport
import Tensor
import Testing
@testable import Stages

/// Expected values come from Tests/StagesTests/dpo_loss_reference.py (independent numpy code written
/// from TRL's loss definitions); re-run it to regenerate them.
@Suite struct DPOLossTests {
    static let pairs: [DPOLoss.Pair] = [
        .init(policyChosen: -12, policyRejected: -14, referenceChosen: -12.5, referenceRejected: -13, chosenTokens: 6, rejectedTokens: 7),
        .init(policyChosen: -7.5, policyRejected: -7, referenceChosen: -8, referenceRejected: -7.2, chosenTokens: 4, rejectedTokens: 3),
        .init(policyChosen: -20, policyRejected: -18.5, referenceChosen: -19, referenceRejected: -19.5, chosenTokens: 9, rejectedTokens: 8),
    ]
    static let expected: [(String, Double, [Double], [Double])] = [
        ("sigmoid", 0.699118531171, [-0.015419005, -0.016416685, -0.018327800], [0.015419005, 0.016416685, 0.018327800]),
        ("hinge", 1.006666666667, [-0.033333333, -0.033333333, -0.033333333], [0.033333333, 0.033333333, 0.033333333]),
        ("robust", 0.699951864504, [-0.019585672, -0.020583352, -0.022494467], [0.019585672, 0.020583352, 0.022494467]),
        ("ipo", 24.875395460653, [-0.530423279, -0.823611110, -0.387860080], [0.454648525, 1.098148150, 0.436342594]),
        ("sigmoid_norm", 0.692386265160, [-0.002746364, -0.004154514, -0.001873713], [0.002354026, 0.005539352, 0.002107927]),
    ]

    @Test(arguments: expected.map(\.0))
    func lossAndGradientMatchTheReference(kind: String) throws {
        let (_, loss, gradChosen, gradRejected) = Self.expected.first { $0.0 == kind }!
        let result = DPOLoss.evaluate(Self.pairs, kind: try #require(DPOLoss.Kind(rawValue: kind)), beta: 0.1, labelSmoothing: 0.1)
        #expect(abs(result.loss - loss) < 1e-9 * max(1, loss), "\(kind) loss \(result.loss) vs \(loss)")
        for i in 0..<3 {
            #expect(abs(result.gradChosen[i] - gradChosen[i]) < 1e-7, "\(kind) ∂/∂chosen[\(i)] \(result.gradChosen[i]) vs \(gradChosen[i])")
            #expect(abs(result.gradRejected[i] - gradRejected[i]) < 1e-7, "\(kind) ∂/∂rejected[\(i)] \(result.gradRejected[i]) vs \(gradRejected[i])")
        }
    }

    /// TRL's `sft` loss beside the preference loss (RPO): the chosen tokens' mean NLL, weighted.
    @Test(arguments: [("sigmoid", 1.738592215381, [-0.041734795, -0.042732475, -0.044643589]),
                      ("ipo", 25.914869144864, [-0.556739069, -0.849926899, -0.414175870])])
    func sftWeightAddsTheChosenNLL(kind: String, loss: Double, gradChosen: [Double]) throws {
        let kindValue = try #require(DPOLoss.Kind(rawValue: kind))
        let plain = DPOLoss.evaluate(Self.pairs, kind: kindValue, beta: 0.1)
        let result = DPOLoss.evaluate(Self.pairs, kind: kindValue, beta: 0.1, sftWeight: 0.5)
        #expect(abs(result.loss - loss) < 1e-9 * max(1, loss), "\(kind)+sft loss \(result.loss) vs \(loss)")
        for i in 0..<3 {
            #expect(abs(result.gradChosen[i] - gradChosen[i]) < 1e-7, "\(kind)+sft ∂/∂chosen[\(i)]")
            #expect(result.gradRejected[i] == plain.gradRejected[i], "the sft term never touches the rejected side")
        }
        let nll = try #require(result.metrics.first { $0.0 == "nll_loss" }?.1)
        #expect(abs(nll - (12 + 7.5 + 20) / 19) < 1e-12)
        #expect(!plain.metrics.contains { $0.0 == "nll_loss" }, "no sft metric when the weight is 0")
    }

    @Test func metricsAreTRLs() {
        let m: [String: Double] = Dictionary(uniqueKeysWithValues: DPOLoss.evaluate(Self.pairs, kind: .sigmoid, beta: 0.1).metrics)
        let chosen: Double = m["rewards/chosen"]!, rejected: Double = m["rewards/rejected"]!
        let margins: Double = m["rewards/margins"]!, accuracies: Double = m["rewards/accuracies"]!
        let expectedLogp: Double = (-12 - 7.5 - 20) / 3
        #expect(abs(chosen) < 1e-12)
        #expect(abs(rejected - 0.006666666667) < 1e-11)
        #expect(abs(margins + 0.006666666667) < 1e-11)
        #expect(abs(accuracies - 2.0 / 3) < 1e-12)
        #expect(m["logps/chosen"] == expectedLogp)
    }

    @Test func extremeMarginsStayFinite() {
        let far = [DPOLoss.Pair(policyChosen: 0, policyRejected: -1e6, referenceChosen: -1e6, referenceRejected: 0, chosenTokens: 1, rejectedTokens: 1)]
        for kind in DPOLoss.Kind.allCases {
            let r = DPOLoss.evaluate(far, kind: kind, beta: 0.1, labelSmoothing: 0.1)
            #expect(r.loss.isFinite && r.gradChosen[0].isFinite, "\(kind)")
            let flipped = DPOLoss.evaluate([DPOLoss.Pair(policyChosen: -1e6, policyRejected: 0, referenceChosen: 0, referenceRejected: -1e6,
                                                         chosenTokens: 1, rejectedTokens: 1)], kind: kind, beta: 0.1, labelSmoothing: 0.1)
            #expect(flipped.loss.isFinite && flipped.gradChosen[0].isFinite, "\(kind) flipped")
        }
    }
}

@Suite struct DPOTrainerTests {
    /// Pairs of the synthetic world: a positive document over a negative one, each after the [EOS] prompt.
    static func pairs(count: Int, seed: UInt64) -> [CompletionPair] {
        let (docs, labels) = SyntheticReviews.documents(count: 2 * count, seed: seed)
        // The [EOS] each document starts with is the prompt (a pair's prompt is at least one token).
        return SyntheticReviews.preferencePairs(docs, labels).compactMap { CompletionPair($0, maxLength: 32) }
    }

    /// An SFT model of both classes (so DPO has something to move).
    static func sftModel(seed: UInt64) throws -> GPTModel {
        let (docs, _) = SyntheticReviews.documents(count: 200, seed: 1)
        let config = try SFTConfig(DirectoryStageContext.declaredParams(kind: "sft", overrides: [
            "block_size": .int(16), "batch_size": .int(8), "steps": .int(40), "lr": .float(1e-2), "warmup_steps": .int(5)]))
        let model = try GPTModel(config: SyntheticReviews.tinyConfig(), seed: seed)
        let sft = SFTTrainer(config: config, model: model, train: try DocumentBatcher(documents: docs, separator: 0, blockSize: 16),
                             valid: nil, seed: seed)
        for _ in 0..<config.steps { _ = try sft.trainStep() }
        return model
    }

    static func config(_ overrides: [String: StageParamValue]) throws -> DPOConfig {
        try DPOConfig(DirectoryStageContext.declaredParams(kind: "dpo", overrides: overrides))
    }

    /// The loss's gradient through the whole model matches central differences, for every loss type.
    @Test(arguments: DPOLoss.Kind.allCases.map(\.rawValue) + ["sigmoid+sft"])
    func gradientMatchesFiniteDifferences(kind name: String) throws {
        let kind = name.replacingOccurrences(of: "+sft", with: ""), sftWeight = name.hasSuffix("+sft") ? 0.5 : 0
        let policy = try Self.sftModel(seed: 3)
        let reference = GPTModel(copying: policy)
        // Move the policy off the reference so every loss has a non-trivial gradient.
        var random = RandomStream(seed: 5, stream: 1)
        for i in 0..<policy.parameterCount { policy.parameters.pointer[i] += Float(random.nextUniform() - 0.5) * 0.02 }
        let pairs = Array(Self.pairs(count: 6, seed: 9).prefix(4))
        let trainer = try DPOTrainer(config: try Self.config(["loss_type": .string(kind), "label_smoothing": .float(0.1), "batch_size": .int(4),
                                                                   "sft_weight": .float(sftWeight)]),
                                     policy: policy, reference: reference, pairs: pairs, heldOut: [], pad: 0, seed: 1)
        let references = DPOTrainer.sums(ModelReplicas(reference, pool: WorkerPool(threads: 1)), pairs, pad: 0, batchSize: 4)
        _ = trainer.lossAndGradients(pairs, references: references)
        let analytic = policy.gradients.array
        func loss() -> Double {
            let sums = DPOTrainer.sums(ModelReplicas(policy, pool: WorkerPool(threads: 1)), pairs, pad: 0, batchSize: 4)
            let input = pairs.indices.map { i in
                DPOLoss.Pair(policyChosen: sums[i].0, policyRejected: sums[i].1, referenceChosen: references[i].0,
                             referenceRejected: references[i].1, chosenTokens: pairs[i].chosen.count, rejectedTokens: pairs[i].rejected.count)
            }
            return DPOLoss.evaluate(input, kind: DPOLoss.Kind(rawValue: kind)!, beta: 0.1, labelSmoothing: 0.1, sftWeight: sftWeight).loss
        }
        // The largest gradients of a few tensors, by central differences in Float32 weights.
        var checked = 0
        for name in ["transformer.wte.weight", "transformer.h.0.attn.c_attn.weight", "transformer.h.0.mlp.c_proj.weight", "transformer.ln_f.weight"] {
            let tensor = try #require(policy.layout.tensor(named: name))
            let top = (tensor.offset..<(tensor.offset + tensor.count)).sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(3)
            for i in top where abs(analytic[i]) > 1e-4 {
                let saved = policy.parameters.pointer[i], h: Float = 1e-2
                policy.parameters.pointer[i] = saved + h
                let up = loss()
                policy.parameters.pointer[i] = saved - h
                let down = loss()
                policy.parameters.pointer[i] = saved
                let numeric = (up - down) / Double(2 * h)
                #expect(abs(numeric - Double(analytic[i])) <= 0.03 * abs(numeric) + 2e-4,
                        "\(kind) \(name)[\(i - tensor.offset)]: analytic \(analytic[i]) vs numeric \(numeric)")
                checked += 1
            }
        }
        #expect(checked >= 6, "\(kind): too few gradients to check")
    }

    /// DPO on positive-over-negative pairs raises the implicit-reward margin and accuracy on held-out pairs
    /// and moves the policy's samples towards positive tokens.
    @Test func learnsThePreference() throws {
        let policy = try Self.sftModel(seed: 3)
        let reference = GPTModel(copying: policy)
        let all = Self.pairs(count: 100, seed: 11)
        let trainer = try DPOTrainer(config: try Self.config(["batch_size": .int(8), "epochs": .int(2), "lr": .float(3e-3), "warmup_steps": .int(2)]),
                                     policy: policy, reference: reference, pairs: Array(all.prefix(80)), heldOut: Array(all.suffix(20)), pad: 0, seed: 1)
        let before = Dictionary(uniqueKeysWithValues: try trainer.evaluate())
        var probe = RandomStream(seed: 99, stream: 1)
        let samplesBefore = ResponseSampler.sample(policy, queries: Array(repeating: [0], count: 32), length: 6, temperature: 1, pad: 0, random: &probe)
        while trainer.step < trainer.totalSteps { _ = try trainer.trainStep() }
        let after = Dictionary(uniqueKeysWithValues: try trainer.evaluate())
        probe = RandomStream(seed: 99, stream: 1)
        let samplesAfter = ResponseSampler.sample(policy, queries: Array(repeating: [0], count: 32), length: 6, temperature: 1, pad: 0, random: &probe)
        #expect(before["eval/rewards/margins"]! == 0)
        #expect(after["eval/rewards/margins"]! > 1, "margin \(after["eval/rewards/margins"]!)")
        #expect(after["eval/rewards/accuracies"]! >= 0.9, "accuracy \(after["eval/rewards/accuracies"]!)")
        #expect(SyntheticReviews.positiveShare(samplesAfter) > SyntheticReviews.positiveShare(samplesBefore) + 0.2,
                "positive share \(SyntheticReviews.positiveShare(samplesBefore)) → \(SyntheticReviews.positiveShare(samplesAfter))")
    }

    /// Reference log-probs precomputed or per minibatch: the same bytes (the reference is frozen).
    @Test func precomputedAndLiveReferenceAgree() throws {
        func train(_ precompute: Bool) throws -> [Float] {
            let policy = try Self.sftModel(seed: 3)
            let trainer = try DPOTrainer(config: try Self.config(["batch_size": .int(8), "precompute_ref": .bool(precompute)]),
                                         policy: policy, reference: GPTModel(copying: policy), pairs: Self.pairs(count: 40, seed: 2),
                                         heldOut: [], pad: 0, seed: 4)
            for _ in 0..<4 { _ = try trainer.trainStep() }
            return policy.parameters.array
        }
        #expect(try train(true) == train(false))
    }
}
