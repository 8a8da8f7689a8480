import Testing
@testable import Stages

/// Expected values come from Tests/StagesTests/ppo_math_reference.py (independent numpy code written from
/// the formulas in shared/notes/rlhf-ppo.md); re-run it to regenerate them.
@Suite struct PPOMathTests {
    static let T = 4
    static let logp: [Float] = [-1.0, -2.0, -0.5, -1.5, -0.7, -0.2, -3.0, -1.0]
    static let ref: [Float] = [-1.2, -1.5, -0.5, -2.0, -0.9, -0.4, -2.0, -1.1]
    static let mask: [Float] = [1, 1, 1, 1, 1, 1, 1, 0]
    static let scores: [Float] = [0.8, -0.3]
    static let values: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5, -0.1, 0.2, 0.9]

    func expectClose(_ a: [Float], _ b: [Double], tolerance: Double = 2e-6, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, sourceLocation: sourceLocation)
        for (x, y) in zip(a, b) {
            #expect(abs(Double(x) - y) <= tolerance * max(1, abs(y)), "\(x) vs \(y)", sourceLocation: sourceLocation)
        }
    }

    @Test func klEstimators() {
        let k1 = zip(Self.logp, Self.ref).map { KLEstimator.k1.estimate(logp: $0, refLogp: $1) }
        expectClose(k1, [0.2, -0.5, 0, 0.5, 0.2, 0.2, -1.0, 0.1])
        let k3 = zip(Self.logp, Self.ref).map { KLEstimator.k3.estimate(logp: $0, refLogp: $1) }
        expectClose(Array(k3.prefix(7)), [0.018730753, 0.148721271, 0, 0.106530660, 0.018730753, 0.018730753, 0.718281828])
        #expect(k3.allSatisfy { $0 >= 0 })
        #expect(abs(KLEstimator.k2.estimate(logp: -1, refLogp: -1.5) - 0.125) < 1e-7)
    }

    @Test func perTokenRewardsPutScoreOnLastUnmaskedToken() {
        let (rewards, kl) = PPOMath.tokenRewards(logp: Self.logp, refLogp: Self.ref, mask: Self.mask, scores: Self.scores,
                                                 beta: 0.2, estimator: .k1, length: Self.T)
        expectClose(rewards, [-0.04, 0.1, 0, 0.7, -0.04, -0.04, -0.1, 0])
        expectClose(kl, [0.2, -0.5, 0, 0.5, 0.2, 0.2, -1.0, 0])   // padding contributes no KL
    }

    @Test func gaeAndReturns() {
        let (rewards, _) = PPOMath.tokenRewards(logp: Self.logp, refLogp: Self.ref, mask: Self.mask, scores: Self.scores,
                                                beta: 0.2, estimator: .k1, length: Self.T)
        let (adv, ret) = PPOMath.gae(rewards: rewards, values: Self.values, mask: Self.mask, gamma: 1, lambda: 0.95, length: Self.T)
        expectClose(adv, [0.5974625, 0.56575, 0.385, 0.3, -0.66375, -0.025, -0.3, 0])
        expectClose(ret, [0.6974625, 0.76575, 0.685, 0.7, -0.16375, -0.125, -0.1, 0])
    }

    @Test func gaeWithLambdaZeroIsOneStepTD() {
        // λ = 0, γ = 0.5: A_t = r_t + γV_{t+1} − V_t, by hand.
        let (adv, _) = PPOMath.gae(rewards: [1, 0, 2], values: [0.5, 1, -1], mask: [1, 1, 1], gamma: 0.5, lambda: 0, length: 3)
        expectClose(adv, [1 + 0.5 * 1 - 0.5, 0 + 0.5 * -1 - 1, 2 - -1])
    }

    @Test func whitening() throws {
        let adv: [Float] = [0.5974625, 0.56575, 0.385, 0.3, -0.66375, -0.025, -0.3, 0]
        expectClose(try PPOMath.whiten(adv, mask: Self.mask),
                    [1.004098959, 0.937017252, 0.554675322, 0.374874137, -1.663753997, -0.312600979, -0.894310693, 0], tolerance: 1e-5)
        expectClose(try PPOMath.whiten(adv, mask: Self.mask, shiftMean: false),
                    [1.126879316, 1.059797609, 0.677455679, 0.497654495, -1.540973640, -0.189820622, -0.771530336, 0], tolerance: 1e-5)
        #expect(throws: StageError.self) { try PPOMath.whiten([1, 2], mask: [1, 0]) }
    }

    @Test func clippedPolicyLoss() {
        let new: [Float] = [-0.8, -2.5, -0.45, -1.5, -0.2, -0.25, -3.1, -9.0]
        let adv: [Float] = [0.5, -1.0, 2.0, -0.3, 1.0, 0.7, -0.4, 5.0]
        let r = PPOMath.policyLoss(newLogp: new, oldLogp: Self.logp, advantages: adv, mask: Self.mask, clipRange: 0.2)
        #expect(abs(r.loss - -0.4437811175268806) < 1e-6)
        #expect(abs(r.clipFraction - 3.0 / 7.0) < 1e-9)
        #expect(abs(r.approxKL - 0.03964285714285714) < 1e-6)
        #expect(abs(r.policyKL - -0.01428571428571426) < 1e-6)
        #expect(abs(r.meanRatio - 1.0548560896408041) < 1e-6)
        expectClose(r.gradient, [0, 0, -0.300363170, 0.042857143, 0, -0.095122942, 0.051704995, 0], tolerance: 1e-5)
    }

    @Test func clippedValueLoss() {
        let ret: [Float] = [0.6974625, 0.76575, 0.685, 0.7, -0.16375, -0.125, -0.1, 0]
        let new: [Float] = [0.5, 0.1, 0.25, 0.0, 0.9, -0.2, 0.1, 3.0]
        let r = PPOMath.valueLoss(newValues: new, oldValues: Self.values, returns: ret, mask: Self.mask, clipRange: 0.2)
        #expect(abs(r.loss - 0.17554382599330356) < 1e-6)
        #expect(abs(r.clipFraction - 1.0 / 7.0) < 1e-9)
        expectClose(r.gradient, [0, -0.095107143, -0.062142857, -0.1, 0.151964286, -0.010714286, 0.028571429, 0], tolerance: 1e-5)
    }

    @Test func adaptiveAndFixedKLController() {
        var c = KLController.adaptive(initial: 0.2, target: 6, horizon: 10000)
        c.update(currentKL: 9, steps: 64)      // error clipped to +0.2
        #expect(abs(c.value - 0.200256) < 1e-12)
        c.update(currentKL: 6.6, steps: 64)    // +0.1
        #expect(abs(c.value - 0.20038416384) < 1e-12)
        c.update(currentKL: 3, steps: 64)      // clipped to −0.2
        #expect(abs(c.value - 0.2001276721102848) < 1e-12)
        var f = KLController.fixed(0.05)
        f.update(currentKL: 100, steps: 64)
        #expect(f.value == 0.05)
    }

    @Test func entropyOfLogits() {
        let z: [Float] = [1, 2, 0.5, -1]
        let h = z.withUnsafeBufferPointer { PPOMath.entropy(logits: $0) }
        #expect(abs(h - 1.0144027755025642) < 1e-6)
    }

    @Test func eosTruncation() {
        let (mask, hasEOS) = PPOMath.truncationMask(responses: [5, 0, 7, 7, 3, 4, 5, 6], eos: 0, length: 4)
        #expect(mask == [1, 1, 0, 0, 1, 1, 1, 1])
        #expect(hasEOS == [true, false])
    }
}
