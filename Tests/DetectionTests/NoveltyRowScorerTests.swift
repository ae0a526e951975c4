import Foundation
import Testing
import Detection

/// The batch wrappers LOF and OCSVM share (`NoveltyRowScorer`): split into
/// chunks of `maxBatch`, every row scores as the model's formula says, the
/// Float and Double forms agree, and nothing is written past `rows`.
@Suite struct NoveltyRowScorerTests {
    static let dim = 3
    /// Seven rows: with `maxBatch` 3 they come in chunks of 3, 3 and 1.
    static let queries: [Double] = (0 ..< 7 * dim).map { sin(Double($0) * 0.71) * 2 }

    static func distance(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>) -> Double {
        zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
    }

    static func row(_ m: [Double], _ i: Int) -> ArraySlice<Double> { m[(i * dim) ..< ((i + 1) * dim)] }

    /// Checks one scorer's wrappers against `expected` (the formula, per row).
    static func check(_ scorer: some NoveltyRowScorer, expected: [Double]) {
        let rows = expected.count
        let doubles = scorer.scoreDoubles(batch: queries, rows: rows)
        for (got, want) in zip(doubles, expected) { #expect(abs(got - want) <= 1e-9 * max(1, abs(want)), "\(got) vs \(want)") }
        // Float rows hold the same values converted, so the Float form is the Double one rounded.
        let floats = queries.map { Float($0) }
        let exact = scorer.scoreDoubles(batch: floats.map(Double.init), rows: rows).map { Float($0) }
        #expect(scorer.score(batch: floats, rows: rows) == exact)
        var out = [Float](repeating: -42, count: rows + 2)
        floats.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { scorer.score(batch: b, rows: rows, into: $0) }
        }
        #expect(Array(out[0 ..< rows]) == exact)
        #expect(out[rows...].allSatisfy { $0 == -42 })
    }

    @Test func ocsvmBatchesScoreEveryRowByTheFormula() {
        let sv: [Double] = [0, 0, 0, 1, 0.5, -1, -0.5, 1.5, 0.25, 2, -1, 0.75, -1.5, -0.5, 1]
        let coef: [Double] = [0.4, 0.3, 0.1, 0.15, 0.05]
        let model = OCSVMModel(dim: Self.dim, gamma: 0.5, rho: 0.2, coefficients: coef, supportVectors: sv)
        let expected = (0 ..< 7).map { i in
            (0 ..< coef.count).map { j in
                let d = Self.distance(Self.row(Self.queries, i), Self.row(sv, j))
                return coef[j] * exp(-0.5 * d * d)
            }.reduce(0, +) - 0.2
        }
        Self.check(model.makeScorer(maxBatch: 3), expected: expected)
        Self.check(model.makeScorer(maxBatch: 16), expected: expected)
    }

    @Test func lofBatchesScoreEveryRowByTheFormula() {
        let ref: [Double] = [0, 0, 0, 1, 0, 0.5, 0, 2, -1, 3, 1, 0.25, 2, 3, 1, -1.5, -2, 0.75, 5, 5, 5, 0.5, -0.5, -1]
        let rows = ref.count / Self.dim, k = 3
        let kd: [Double] = (0 ..< rows).map { 0.8 + 0.1 * Double($0) }
        let lrd: [Double] = (0 ..< rows).map { 0.5 + 0.05 * Double($0 * $0 % 5) }
        let model = LOFModel(k: k, dim: Self.dim, reference: ref, kDistance: kd, lrd: lrd)
        let expected = (0 ..< 7).map { i in
            let near = (0 ..< rows).map { j in (j, Self.distance(Self.row(Self.queries, i), Self.row(ref, j))) }
                .sorted { $0.1 < $1.1 }.prefix(k)
            let reach = near.map { max($0.1, kd[$0.0]) }.reduce(0, +) / Double(k)
            let lrdQ = 1 / (reach + LOFModel.lrdEpsilon)
            return -(near.map { lrd[$0.0] }.reduce(0, +) / Double(k)) / lrdQ
        }
        Self.check(model.makeScorer(maxBatch: 3), expected: expected)
        Self.check(model.makeScorer(maxBatch: 16), expected: expected)
    }
}
