import Foundation
import Testing
import Detection
import ModelFixtures

@Suite struct CalibrationTests {
    @Test func monotoneAndMatchesEmpiricalCDF() {
        var rng = TestRNG(state: 9)
        let benign = (0..<5000).map { _ in -1 - abs(rng.normal()) * 0.2 }  // LOF-like: higher = normal
        let cal = ScoreCalibrator.fit(benignScores: benign, higherIsAnomalous: false, quantileCount: 1001)
        // Monotone in anomalousness (decreasing raw LOF score).
        var prev = -1.0
        for i in 0...2000 {
            let raw = -0.5 - Double(i) * 0.001   // from very normal to very anomalous
            let p = cal.calibrate(raw)
            #expect(p >= prev)
            #expect(p >= 0 && p <= 1)
            prev = p
        }
        #expect(cal.calibrate(0) == 0)
        #expect(cal.calibrate(-100) == 1)
        #expect(cal.calibrate(.nan) == 1)
        // Close to the empirical fraction of benign scores that are less anomalous.
        for raw in [-1.05, -1.1, -1.2, -1.4, -1.6] {
            let frac = Double(benign.filter { $0 >= raw }.count) / Double(benign.count)
            #expect(abs(cal.calibrate(raw) - frac) < 0.002)
        }
        // Plateau (many equal benign scores) maps to its top.
        let ties = ScoreCalibrator.fit(benignScores: [1, 1, 1, 1, 2, 3] as [Double], higherIsAnomalous: true, quantileCount: 11)
        #expect(abs(ties.calibrate(1) - 0.6) < 1e-12)
        #expect(ties.calibrate(0.999) == 0)
    }

    @Test func thresholdForTargetFPR() {
        var rng = TestRNG(state: 21)
        let benign = (0..<10_000).map { _ in rng.normal() }  // higher = anomalous
        for rate in [0.0, 0.001, 0.01, 0.05, 0.5] {
            let t = FPRThreshold.choose(forFalsePositiveRate: rate, benignScores: benign, higherIsAnomalous: true)
            let fp = Double(benign.filter { t.isAnomalous($0) }.count) / Double(benign.count)
            #expect(fp == t.achievedFPR)
            #expect(fp <= rate)
            #expect(fp >= rate - 1.0 / Double(benign.count))
        }
        // Orientation flip (OCSVM/LOF: lower = anomalous).
        let lower = FPRThreshold.choose(forFalsePositiveRate: 0.01, benignScores: benign.map { -$0 }, higherIsAnomalous: false)
        #expect(lower.achievedFPR <= 0.01)
        #expect(lower.isAnomalous(-10) && !lower.isAnomalous(10))
        // Ties at the threshold never alert, so the FPR bound holds.
        let tied = FPRThreshold.choose(forFalsePositiveRate: 0.1, benignScores: Array(repeating: 5.0, count: 100), higherIsAnomalous: true)
        #expect(tied.achievedFPR == 0)
    }

    @Test func encodeDecode() throws {
        let cal = ScoreCalibrator.fit(benignScores: (0..<300).map { Double($0 % 37) }, higherIsAnomalous: true, quantileCount: 101)
        #expect(try ScoreCalibrator(decoding: cal.encode()) == cal)
        var bad = cal.encode()
        bad.removeLast()
        #expect(throws: BundleError.self) { try ScoreCalibrator(decoding: bad) }
    }
}
