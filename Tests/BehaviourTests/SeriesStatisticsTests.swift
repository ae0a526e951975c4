import Testing
@testable import Behaviour

/// RITA v5's regularity score against the test vectors of
/// `activecm/rita:analysis/beacons_test.go` and hand-worked quartiles.
@Suite struct SeriesStatisticsTests {
    @Test func quartilesLeaveTheMiddleOutForOddCounts() {
        let x: [Double] = [1, 2, 25, 42, 90, 299, 500, 1500, 4975]
        let q = SeriesStatistics.quartiles(sorted: x)
        #expect(q.q1 == 13.5 && q.q2 == 90 && q.q3 == 1000)
        let e = SeriesStatistics.quartiles(sorted: [1, 2, 3, 4, 5, 6])
        #expect(e.q1 == 2 && e.q2 == 3.5 && e.q3 == 5)
    }

    @Test func regularIntervalsScoreOne() {
        let r = SeriesStatistics.regularityScore(sorted: [Double](repeating: 60, count: 9), minIQR: 10, defaultMADScore: 1)
        #expect(r.score == 1 && r.skew == 0 && r.mad == 0)
    }

    @Test func smallJitterKeepsAHighScore() {
        // Q = 99/100/101 (IQR 2 < 10: skew 0), MAD 1 → ((1 − 0) + 0.99) / 2 = 0.995.
        let r = SeriesStatistics.regularityScore(sorted: [98, 99, 99, 100, 100, 100, 101, 101, 102], minIQR: 10, defaultMADScore: 1)
        #expect(r.score == 0.995)
    }

    @Test func twoRatesHaveNoSkewButAWideMAD() {
        // 98/300 alternating: Q1 98, Q2 199, Q3 300 → B 0; MAD 101 → (199 − 101)/199 = 0.492 → ts 0.746.
        let x = ([Double](repeating: 98, count: 5) + [Double](repeating: 300, count: 5)).sorted()
        let r = SeriesStatistics.regularityScore(sorted: x, minIQR: 10, defaultMADScore: 1)
        #expect(r.skew == 0 && r.mad == 101 && r.score == 0.746)
    }

    @Test func irregularIntervalsScoreLow() {
        // Q1 13.5, Q2 90, Q3 1000 → B = 833.5 / 986.5 = 0.845; MAD 89 → 1/90; ts = (0.155 + 0.011)/2 = 0.083.
        let x: [Double] = [1, 299, 25, 4975, 90, 2, 42, 500, 1500].sorted()
        let r = SeriesStatistics.regularityScore(sorted: x, minIQR: 10, defaultMADScore: 1)
        #expect(abs(r.skew - 833.5 / 986.5) < 1e-12)
        #expect(r.mad == 89)
        #expect(r.score == 0.083)
    }

    @Test func equalSizesScoreOneAndZerosHalf() {
        #expect(SeriesStatistics.regularityScore(sorted: [Double](repeating: 60, count: 5), minIQR: 10, defaultMADScore: 0).score == 1)
        #expect(SeriesStatistics.regularityScore(sorted: [Double](repeating: 0, count: 5), minIQR: 10, defaultMADScore: 0).score == 0.5)
    }

    @Test func coefficientOfVariationAndModalShare() {
        // mean 5, population σ 2 → 0.4.
        #expect(abs(SeriesStatistics.coefficientOfVariation([2, 4, 4, 4, 5, 5, 7, 9]) - 0.4) < 1e-12)
        #expect(SeriesStatistics.coefficientOfVariation([]) == 0)
        #expect(SeriesStatistics.modalShare([10, 70, 100, 120, 130, 500], binWidth: 64) == 0.5)  // bin 1: 70, 100, 120
    }
}

@Suite struct MissedBeatTests {
    @Test func gapsOfTwoOrThreeBeatsAreSplit() {
        // The lab's HTTP beacon (behaviour-slow.pcap, 30 s, two missed beats), first 9 gaps:
        // Q1 29.7, Q3 44.5 → IQR 14.8 ≥ 10 and Bowley 0.946: ts 0.52 as RITA computes it.
        var g = [30.607, 29.691, 59.7, 31.39, 29.496, 57.577, 29.743, 30.131, 30.063].sorted()
        #expect(SeriesStatistics.regularityScore(sorted: g, minIQR: 10, defaultMADScore: 1).score < 0.6)
        SeriesStatistics.splitMissedBeats(&g)
        // 59.7 → 2 × 29.85, 57.577 → 2 × 28.7885: 11 gaps, IQR < 10, MAD 0.405 about the median 29.85.
        #expect(g.count == 11 && g.contains(29.85) && g.contains(57.577 / 2))
        #expect(g == g.sorted())
        let r = SeriesStatistics.regularityScore(sorted: g, minIQR: 10, defaultMADScore: 1)
        #expect(r.skew == 0 && r.score >= 0.98)
        // Not a multiple: left alone. Beyond 4 beats: left alone.
        var h: [Double] = [10, 10, 10, 17]
        SeriesStatistics.splitMissedBeats(&h)
        #expect(h == [10, 10, 10, 17])
        var l: [Double] = [10, 10, 10, 60]
        SeriesStatistics.splitMissedBeats(&l)
        #expect(l == [10, 10, 10, 60])
    }
}
