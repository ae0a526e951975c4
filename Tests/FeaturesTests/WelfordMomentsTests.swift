import Testing
@testable import Features

/// The one Welford updater behind `RunningStats` and `LengthStats`.
@Suite struct WelfordMomentsTests {
    static let values: [Double] = [1500, 40, 40, 576, 1500, 52, 1500, 40, 1, 65535]

    @Test func matchesTwoPassMeanAndVariance() {
        var w = WelfordMoments()
        var firsts: [Bool] = []
        for x in Self.values { firsts.append(w.add(x)) }
        #expect(firsts == [true] + [Bool](repeating: false, count: Self.values.count - 1))
        let n = Double(Self.values.count)
        let mean = Self.values.reduce(0, +) / n
        let variance = Self.values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)
        #expect(w.count == UInt32(Self.values.count))
        #expect(abs(w.mean - mean) <= 1e-9 * mean)
        #expect(abs(w.variance - variance) <= 1e-9 * variance)
    }

    @Test func restartIsAFreshFirstValue() {
        var a = WelfordMoments(), b = WelfordMoments()
        for x in Self.values { _ = a.add(x) }
        a.restart(7)
        _ = b.add(7)
        #expect(a == b)
        #expect(a.variance == 0)
    }

    @Test func bothStatsTypesUseItAndKeepTheirSize() {
        var r = RunningStats(), l = LengthStats()
        var w = WelfordMoments()
        for x in Self.values { r.add(x); l.add(Int(x)); _ = w.add(x) }
        #expect(r.moments == w && l.moments == w)
        #expect(r.min == 1 && r.max == 65535 && l.min == 1 && l.max == 65535)
        #expect(MemoryLayout<RunningStats>.size == 40)
        #expect(MemoryLayout<LengthStats>.size == 24)
    }
}
