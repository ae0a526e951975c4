import Foundation
import Testing
@testable import Decoding
@testable import Context
@testable import Features

@Suite struct RunningStatsTests {
    @Test func matchesTwoPassComputation() {
        let xs: [Double] = [2, 4, 4, 4, 5, 5, 7, 9]
        var s = RunningStats()
        for x in xs { s.add(x) }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let ss = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
        #expect(s.count == 8 && s.min == 2 && s.max == 9)
        #expect(abs(s.mean - 5) < 1e-12)
        #expect(abs(s.variance - ss / 7) < 1e-12)   // sample variance 32/7
        #expect(abs(s.std - (32.0 / 7).squareRoot()) < 1e-12)
    }

    @Test func stableForLargeOffsets() {
        // E[x²] − mean² would lose everything here; Welford keeps it.
        var s = RunningStats()
        for x in [1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16] { s.add(x) }
        #expect(abs(s.variance - 30) < 1e-6)
    }

    @Test func fewerThanTwoValuesHaveZeroSpread() {
        var s = RunningStats()
        #expect(s.std == 0)
        s.add(3)
        #expect(s.std == 0 && s.mean == 3)
        var l = LengthStats()
        l.add(1500)
        #expect(l.std == 0 && l.min == 1500 && l.max == 1500)
    }

    @Test func lengthStatsAgreeWithRunningStats() {
        var a = RunningStats(), b = LengthStats()
        for x in [40, 1500, 52, 52, 576, 1500, 40] { a.add(Double(x)); b.add(x) }
        #expect(a.mean == b.mean && a.std == b.std && a.min == b.min && a.max == b.max)
    }
}
