import Testing
@testable import Stages

/// Values from Tests/StagesTests/ppo_math_reference.py.
@Suite struct RMLossTests {
    @Test func bradleyTerryLossGradientAccuracyMargin() {
        let r = BradleyTerry.evaluate(chosen: [1.0, 0.2, -0.5, 3.0], rejected: [0.0, 0.7, -0.5, -1.0], centring: 0.01)
        #expect(abs(r.loss - 0.5166839450440212) < 1e-6)
        let gc: [Double] = [-0.062235355, -0.151114833, -0.13, 0.005503448]
        let gr: [Double] = [0.072235355, 0.160114833, 0.12, 0.014496552]
        for i in 0..<4 {
            #expect(abs(Double(r.gradChosen[i]) - gc[i]) < 1e-6)
            #expect(abs(Double(r.gradRejected[i]) - gr[i]) < 1e-6)
        }
        #expect(r.accuracy == 0.5)   // the tie (−0.5 vs −0.5) counts as wrong
        #expect(abs(r.margin - 1.125) < 1e-6)   // Float inputs
    }

    @Test func bradleyTerryIsStableForLargeMargins() {
        let r = BradleyTerry.evaluate(chosen: [-500], rejected: [500])
        #expect(abs(r.loss - 1000) < 1e-6)
        #expect(abs(r.gradChosen[0] + 1) < 1e-6)   // the gradient does not vanish when badly mis-ordered
        let good = BradleyTerry.evaluate(chosen: [500], rejected: [-500])
        #expect(good.loss < 1e-12 && good.accuracy == 1)
    }
}
