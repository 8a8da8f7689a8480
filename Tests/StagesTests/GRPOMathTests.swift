import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// GRPO/RLOO numerics: small cases worked by hand, then every baseline × scaling and every loss type
/// against Tests/StagesTests/grpo_math_reference.py (independent numpy code from TRL's formulas), which
/// the test runs when a python3 with numpy is on the PATH.
@Suite struct GRPOMathTests {
    func expectClose(_ a: [Float], _ b: [Double], tolerance: Double = 2e-6, _ what: String = "",
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, "\(what): \(a.count) vs \(b.count) entries", sourceLocation: sourceLocation)
        for (i, (x, y)) in zip(a, b).enumerated() {
            #expect(abs(Double(x) - y) <= tolerance * max(1, abs(y)), "\(what)[\(i)]: \(x) vs \(y)", sourceLocation: sourceLocation)
        }
    }

    // MARK: by hand

    @Test func advantagesByHand() {
        let rewards: [Float] = [1, 2, 3, 6]   // two groups of two
        let plain = GRPOMath.advantages(rewards: rewards, groupSize: 2, baseline: .grpo, scaling: .none)
        expectClose(plain.advantages, [-0.5, 0.5, -1.5, 1.5], "grpo/none")
        // Group std of (1, 2) with Bessel's correction is √0.5; of (3, 6) it is √4.5.
        let group = GRPOMath.advantages(rewards: rewards, groupSize: 2, baseline: .grpo, scaling: .group)
        expectClose(group.advantages, [-0.5 / (0.5.squareRoot() + 1e-4), 0.5 / (0.5.squareRoot() + 1e-4),
                                       -1.5 / (4.5.squareRoot() + 1e-4), 1.5 / (4.5.squareRoot() + 1e-4)], "grpo/group")
        // Batch std of (1, 2, 3, 6): mean 3, squares 4 + 1 + 0 + 9 = 14, / 3.
        let batchStd = (14.0 / 3).squareRoot()
        let batch = GRPOMath.advantages(rewards: rewards, groupSize: 2, baseline: .grpo, scaling: .batch)
        expectClose(batch.advantages, [-0.5, 0.5, -1.5, 1.5].map { $0 / (batchStd + 1e-4) }, "grpo/batch")
        #expect(abs(batch.rewardMean - 3) < 1e-12 && abs(batch.rewardStd - batchStd) < 1e-12)
        // Leave-one-out with G = 2: the baseline is the other completion's reward.
        let rloo = GRPOMath.advantages(rewards: rewards, groupSize: 2, baseline: .rloo, scaling: .none)
        expectClose(rloo.advantages, [-1, 1, -3, 3], "rloo/none")
        // G = 3: r − (sum − r)/2; (0, 3, 3) → (−3, 1.5, 1.5); a constant group gives 0 and counts as zero-std.
        let three = GRPOMath.advantages(rewards: [0, 3, 3, 2, 2, 2], groupSize: 3, baseline: .rloo, scaling: .none)
        expectClose(three.advantages, [-3, 1.5, 1.5, 0, 0, 0], "rloo G=3")
        #expect(three.fractionZeroStd == 0.5)
        #expect(plain.fractionZeroStd == 0)
    }

    /// Ratio 1 (one iteration), β = 0: the per-token loss is −A, so each type is a weighted sum by hand.
    /// Rows: A = (1, −1), masks (1, 1) and (1, 0).
    static let byHand: [(GRPOLossType, Double, [Double])] = [
        (.dapo, -1.0 / 3, [-1.0 / 3, -1.0 / 3, 1.0 / 3, 0]),
        (.grpo, 0, [-0.25, -0.25, 0.5, 0]),
        (.drGRPO, -0.25, [-0.25, -0.25, 0.25, 0]),
    ]

    @Test(arguments: byHand)
    func lossTypesByHand(type: GRPOLossType, loss: Double, gradient: [Double]) {
        let logp: [Float] = [-1, -2, -0.5, -3]
        let r = GRPOMath.loss(logp: logp, oldLogp: logp, refLogp: nil, advantages: [1, -1], mask: [1, 1, 1, 0], length: 2,
                              lossType: type, epsilonLow: 0.2, epsilonHigh: 0.2, beta: 0, maxCompletionLength: 2)
        #expect(abs(r.loss - loss) < 1e-12, "\(type): loss \(r.loss)")
        expectClose(r.gradient, gradient, "\(type) gradient")
        #expect(r.kl == nil && r.clipRegion == 0 && r.activeTokens == 3)
    }

    /// Clipping and the k3 term on one token each, by hand.
    @Test func clippingAndKLByHand() {
        // A = 2, ρ = e^{0.5} ≈ 1.6487 > 1.28: the clipped branch (1.28·2) is the minimum: loss −2.56, no gradient.
        let high = GRPOMath.loss(logp: [-0.5], oldLogp: [-1], refLogp: nil, advantages: [2], mask: [1], length: 1,
                                 lossType: .dapo, epsilonLow: 0.2, epsilonHigh: 0.28, beta: 0, maxCompletionLength: 1)
        #expect(abs(high.loss - -2.56) < 1e-6 && high.gradient == [0] && high.clipHigh == 1 && high.clipLow == 0)
        // A = −1, ρ = e^{−0.5} ≈ 0.6065 < 0.8: clipped −0.8·(−1) = 0.8 > 0.6065 so the clipped branch wins: loss 0.8.
        let low = GRPOMath.loss(logp: [-1.5], oldLogp: [-1], refLogp: nil, advantages: [-1], mask: [1], length: 1,
                                lossType: .dapo, epsilonLow: 0.2, epsilonHigh: 0.28, beta: 0, maxCompletionLength: 1)
        #expect(abs(low.loss - 0.8) < 1e-6 && low.gradient == [0] && low.clipLow == 1 && low.clipRegion == 1)
        // A = −1, ρ = e^{0.5}: unclipped −ρA = ρ is the larger: loss ρ, gradient ρ; not counted as clipped.
        let ratio = Foundation.exp(0.5)
        let free = GRPOMath.loss(logp: [-0.5], oldLogp: [-1], refLogp: nil, advantages: [-1], mask: [1], length: 1,
                                 lossType: .dapo, epsilonLow: 0.2, epsilonHigh: 0.28, beta: 0, maxCompletionLength: 1)
        #expect(abs(free.loss - ratio) < 1e-6 && abs(Double(free.gradient[0]) - ratio) < 1e-6 && free.clipRegion == 0)
        // k3 with ref − logp = 1: e − 2; its gradient 1 − e; times β = 0.5, A = 0, ratio 1.
        let kl = GRPOMath.loss(logp: [-2], oldLogp: [-2], refLogp: [-1], advantages: [0], mask: [1], length: 1,
                               lossType: .dapo, epsilonLow: 0.2, epsilonHigh: 0.2, beta: 0.5, maxCompletionLength: 1)
        #expect(abs(kl.kl! - (M_E - 2)) < 1e-6)
        #expect(abs(kl.loss - 0.5 * (M_E - 2)) < 1e-6 && abs(Double(kl.gradient[0]) - 0.5 * (1 - M_E)) < 1e-6)
    }

    @Test func configConventions() throws {
        let defaults = try GRPOConfig(DirectoryStageContext.declaredParams(kind: "grpo", overrides: [:]))
        #expect(defaults.epsilonHigh == defaults.epsilon, "epsilon_high 0 means equal to epsilon")
        #expect(defaults.lossType == .dapo && defaults.scaleRewards == .group && defaults.advantage == .grpo)
        #expect(defaults.numGenerations == 8 && defaults.beta == Float(0.04) && !defaults.needsOldLogProbs)
        let high = try GRPOConfig(DirectoryStageContext.declaredParams(kind: "grpo", overrides: ["epsilon_high": .float(0.28)]))
        #expect(high.epsilonHigh == Float(0.28))
        // RLOO divided by the group std would silently be GRPO: a clear error naming the param and the fix.
        do {
            _ = try GRPOConfig(DirectoryStageContext.declaredParams(kind: "grpo", overrides: ["advantage": .string("rloo")]))
            Issue.record("rloo with group scaling was accepted")
        } catch { #expect("\(error)".contains("scale_rewards") && "\(error)".contains("none")) }
        do {
            _ = try GRPOConfig(DirectoryStageContext.declaredParams(kind: "grpo", overrides: ["num_mini_batches": .int(3)]))
            Issue.record("num_mini_batches 3 of 128 rows was accepted")
        } catch { #expect("\(error)".contains("num_mini_batches")) }
    }

    // MARK: against numpy

    static let referenceScript = DirectoryStageContext.repositoryRoot + "/Tests/StagesTests/grpo_math_reference.py"

    /// What grpo_math_reference.py prints.
    struct NumpyReference: Decodable, Sendable {
        struct LossCase: Decodable, Sendable { var loss: Double; var gradient: [Double] }
        var advantages: [String: [Double]]
        var loss: [String: LossCase]
        var kl, clipLow, clipHigh, rewardMean, rewardStd: Double
        enum CodingKeys: String, CodingKey {
            case advantages, loss, kl, clipLow = "clip_low", clipHigh = "clip_high", rewardMean = "reward_mean", rewardStd = "reward_std"
        }
    }

    /// The numpy reference's output, or nil when no python3 with numpy is on the PATH.
    static let reference: NumpyReference? = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", referenceScript]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        do { try process.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return try? JSONDecoder().decode(NumpyReference.self, from: data)
    }()

    // The fixed inputs of grpo_math_reference.py.
    static let g = 3, t = 3
    static let rewards: [Float] = [0.9, -0.2, 0.4, 1.5, 1.1, -0.7, 0.3, 0.3, 0.3]
    static let logp: [Float] = [-1.0, -2.0, -0.5, -0.7, -0.2, -3.0, -1.1, -0.4, -0.9,
                                -2.2, -0.3, -1.0, -0.6, -1.4, -0.8, -0.5, -0.5, -2.5,
                                -1.3, -0.2, -0.7, -0.9, -1.9, -0.1, -0.4, -0.6, -1.2]
    static let offsets: [Float] = [0.0, 0.3, -0.3, 0.1, -0.4, 0.05, 0.5, -0.1, 0.0,
                                   -0.25, 0.2, 0.02, 0.3, -0.5, 0.1, 0.0, 0.0, 0.0,
                                   0.15, -0.15, 0.4, -0.3, 0.25, 0.0, 0.05, 0.6, -0.2]
    static let refOffsets: [Float] = [0.2, -0.5, 0.0, 0.5, 0.2, -1.0, 0.1, 0.3, -0.2,
                                      -0.4, 0.6, 0.1, 0.0, -0.3, 0.25, 0.7, -0.1, 0.05,
                                      -0.2, 0.4, 0.3, 0.1, 0.1, -0.6, -0.35, 0.2, 0.15]
    static var mask: [Float] {
        var m = [Float](repeating: 1, count: 27)
        m[1 * 3 + 2] = 0
        m[4 * 3 + 1] = 0; m[4 * 3 + 2] = 0
        return m
    }

    @Test(.enabled(if: reference != nil, "needs python3 with numpy on the PATH to run grpo_math_reference.py"))
    func advantagesMatchNumpy() throws {
        let reference = try #require(Self.reference)
        let expected = reference.advantages
        for baseline in GroupAdvantage.allCases {
            for scaling in RewardScaling.allCases {
                let key = baseline.rawValue + "/" + scaling.rawValue
                let got = GRPOMath.advantages(rewards: Self.rewards, groupSize: Self.g, baseline: baseline, scaling: scaling)
                expectClose(got.advantages, try #require(expected[key], "numpy lacks \(key)"), tolerance: 1e-5, key)
                #expect(abs(got.rewardMean - reference.rewardMean) < 1e-6)
                #expect(abs(got.rewardStd - reference.rewardStd) < 1e-6)
                #expect(abs(got.fractionZeroStd - 1.0 / 3) < 1e-12)
            }
        }
    }

    @Test(.enabled(if: reference != nil, "needs python3 with numpy on the PATH to run grpo_math_reference.py"),
          arguments: GRPOLossType.allCases)
    func lossAndGradientMatchNumpy(type: GRPOLossType) throws {
        let reference = try #require(Self.reference)
        let expected = try #require(reference.loss[type.rawValue], "numpy lacks \(type.rawValue)")
        let advantages = GRPOMath.advantages(rewards: Self.rewards, groupSize: Self.g, baseline: .grpo, scaling: .group).advantages
        let old = zip(Self.logp, Self.offsets).map { $0 - $1 }
        let ref = zip(Self.logp, Self.refOffsets).map { $0 + $1 }
        let got = GRPOMath.loss(logp: Self.logp, oldLogp: old, refLogp: ref, advantages: advantages, mask: Self.mask,
                                length: Self.t, lossType: type, epsilonLow: 0.2, epsilonHigh: 0.28, beta: 0.04,
                                maxCompletionLength: Self.t)
        let loss = expected.loss
        #expect(abs(got.loss - loss) < 1e-5 * max(1, abs(loss)), "\(type): \(got.loss) vs \(loss)")
        expectClose(got.gradient, expected.gradient, tolerance: 2e-5, "\(type) gradient")
        #expect(abs(got.kl! - reference.kl) < 1e-5)
        #expect(abs(got.clipLow - reference.clipLow) < 1e-12)
        #expect(abs(got.clipHigh - reference.clipHigh) < 1e-12)
        #expect(got.clipLow > 0 && got.clipHigh > 0, "the fixture should clip on both sides")
    }
}
