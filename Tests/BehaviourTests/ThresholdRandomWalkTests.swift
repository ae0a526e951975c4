import Foundation
import Testing
@testable import Behaviour

/// Jung et al. 2004 with θ0 = 0.8, θ1 = 0.2, α = 0.01, β = 0.99: steps ±ln 4,
/// thresholds ±ln 99, so four failures in a row decide "scanner" (4 ln 4 =
/// 5.545 ≥ 4.595) and three do not (4.159).
@Suite struct ThresholdRandomWalkTests {
    let trw = ThresholdRandomWalk(theta0: 0.8, theta1: 0.2, alpha: 0.01, beta: 0.99)

    @Test func constants() {
        #expect(abs(trw.failureStep - log(4)) < 1e-12)
        #expect(abs(trw.successStep + log(4)) < 1e-12)
        #expect(abs(trw.upper - log(99)) < 1e-12)
        #expect(abs(trw.lower + log(99)) < 1e-12)
    }

    @Test func fourFailuresDecideThreeDoNot() {
        var llr = 0.0
        for i in 1...4 {
            let s = trw.step(llr, failed: true)
            llr = s.llr
            #expect(s.scanner == (i == 4), "after \(i) failures")
        }
        #expect(trw.score(llr) == 1)
    }

    @Test func aSuccessUndoesAFailureAndFourSuccessesRestart() {
        var llr = trw.step(0, failed: true).llr
        llr = trw.step(llr, failed: false).llr
        #expect(abs(llr) < 1e-12)
        for _ in 0..<3 { llr = trw.step(llr, failed: false).llr }
        #expect(abs(llr + 3 * log(4)) < 1e-12)
        llr = trw.step(llr, failed: false).llr  // −4 ln 4 ≤ −ln 99: benign, the walk starts again
        #expect(llr == 0)
    }
}
