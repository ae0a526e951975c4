import Foundation
import Testing
import Detection
import Training

@Suite struct ReservoirSamplerTests {
    @Test func boundedDeterministicAndRoughlyUniform() {
        let dim = 2, n = 20_000, cap = 1000
        var rows = [Float](repeating: 0, count: n * dim)
        for i in 0..<n { rows[i * dim] = Float(i); rows[i * dim + 1] = -Float(i) }
        var a = ReservoirSampler(capacity: cap, dim: dim, seed: 1)
        a.add(rows: rows, count: n)
        var b = ReservoirSampler(capacity: cap, dim: dim, seed: 1)
        b.add(rows: rows, count: n)
        #expect(a.count == cap && a.seen == n)
        #expect(a.rows == b.rows)
        // Rows stay intact (both columns from the same source row).
        for i in 0..<cap { #expect(a.rows[i * dim + 1] == -a.rows[i * dim]) }
        // Each quarter of the stream contributes about a quarter of the sample.
        var quarters = [0, 0, 0, 0]
        for i in 0..<cap { quarters[Int(a.rows[i * dim]) * 4 / n] += 1 }
        #expect(quarters.allSatisfy { abs($0 - cap / 4) < 60 })
        // Fewer rows than capacity: all kept in order.
        var c = ReservoirSampler(capacity: cap, dim: dim)
        c.add(rows: Array(rows[0..<20]), count: 10)
        #expect(c.rows == Array(rows[0..<20]))
    }
}
