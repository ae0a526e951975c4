import Testing
@testable import Context

@Suite struct DistinctSketchTests {
    @Test func distinctSketchEstimates() {
        var s = DistinctSketch()
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 { s.insert(hash: rng.next()) }
        let e = Double(s.estimate)
        #expect(e > 150 && e < 260)
    }
}
