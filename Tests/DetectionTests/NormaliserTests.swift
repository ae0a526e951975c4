import Foundation
import Testing
import Detection
import ModelFixtures
import Training

@Suite struct NormaliserTests {
    @Test func handComputedMedianAndIQR() throws {
        // Column 0: 1…5 (median 3, q25 2, q75 4 → IQR 2). Column 1: constant (IQR 0 → scale 1).
        // Column 2: 0, 9, 99, 999, 9999 log-scaled → log1p = 0, ln10, ln100, ln1000, ln10000.
        let rows: [Float] = [1, 7, 0,
                             2, 7, 9,
                             3, 7, 99,
                             4, 7, 999,
                             5, 7, 9999]
        let n = Normaliser.fit(rows: rows, count: 5, dim: 3, logScale: [false, false, true])
        #expect(n.columns[0] == NormaliserColumn(logScale: false, centre: 3, scale: 2))
        #expect(n.columns[1] == NormaliserColumn(logScale: false, centre: 7, scale: 1))
        #expect(abs(n.columns[2].centre - log(100.0)) < 1e-6)
        #expect(abs(n.columns[2].scale - (log(1000.0) - log(10.0))) < 1e-6)
        #expect(n.apply(4, column: 0) == 0.5)
        #expect(n.apply(7, column: 1) == 0)
        #expect(abs(n.apply(9999, column: 2) - (log(10000.0) - log(100.0)) / log(100.0)) < 1e-6)
        // Negative values use the signed log.
        #expect(abs(Normaliser.signedLog(-9) + log(10.0)) < 1e-12)
        // Batch apply matches the scalar path.
        let out = n.applied(batch: rows, rows: 5)
        for i in 0..<5 { for c in 0..<3 {
            #expect(abs(Double(out[i * 3 + c]) - n.apply(Double(rows[i * 3 + c]), column: c)) < 1e-6)
        } }
    }

    @Test func inverseRoundTripAndEncoding() throws {
        var rng = TestRNG(state: 5)
        let dim = 5, count = 200
        var rows = rng.rows(count, dim)
        for i in 0..<count { rows[i * dim + 4] = Float(exp(rng.normal() * 3)) }  // heavy tail
        let logs = Normaliser.heavyTailedColumns(rows: rows, count: count, dim: dim)
        #expect(logs[4])
        #expect(!logs[0])
        let n = Normaliser.fit(rows: rows, count: count, dim: dim, logScale: logs)
        let y = n.applied(batch: rows.map(Double.init), rows: count)
        for i in 0..<(count * dim) {
            let back = n.invert(y[i], column: i % dim)
            #expect(abs(back - Double(rows[i])) <= 1e-9 * max(1, abs(Double(rows[i]))))
        }
        let decoded = try Normaliser(decoding: n.encode())
        #expect(decoded == n)
        #expect(throws: BundleError.self) { try Normaliser(decoding: Array(n.encode().dropLast(2))) }
    }

    @Test func perColumnConfig() {
        let rows: [Float] = [1, 10, 2, 100, 3, 1000, 4, 10000]
        let n = Normaliser.fit(rows: rows, count: 4, dim: 2,
                               config: [NormaliserColumnConfig(logScale: false, robustScale: false),
                                        NormaliserColumnConfig(logScale: true, robustScale: true)])
        #expect(n.columns[0] == .identity)
        #expect(n.columns[1].logScale && n.columns[1].scale > 0)
        #expect(n.apply(3, column: 0) == 3)
    }

    @Test func sanitisesNonFinite() {
        let n = Normaliser(columns: [.identity, NormaliserColumn(logScale: true, centre: 0, scale: 1)])
        var b: [Float] = [.nan, .infinity, -.infinity, 3]
        n.apply(batch: &b, rows: 2)
        #expect(b[0] == 0)
        #expect(b[1].isFinite && b[1] > 0)
        #expect(b[2] == Float(-Normaliser.limit))
        #expect(abs(b[3] - Float(log1p(3.0))) < 1e-6)
    }
}
