import Testing
import Detection
import ModelFixtures

@Suite struct MatrixDistanceTests {
    static func rows(_ n: Int, _ dim: Int, seed: UInt64, scale: Double = 1, offset: Double = 0) -> [Double] {
        var r = TestRNG(state: seed)
        return (0..<n * dim).map { _ in offset + scale * r.normal() }
    }

    /// The distance the GEMM trick approximates, summed directly in Double.
    static func naive(_ a: [Double], _ i: Int, _ b: [Double], _ j: Int, dim: Int) -> Double {
        var s = 0.0
        for c in 0..<dim { let d = a[i * dim + c] - b[j * dim + c]; s += d * d }
        return s
    }

    static func squared(_ q: [Double], rows: Int, _ refs: [Double], refRows: Int, dim: Int) -> [Double] {
        let qn = MatrixDistance.rowSquaredNorms(q, rows: rows, dim: dim)
        let rn = MatrixDistance.rowSquaredNorms(refs, rows: refRows, dim: dim)
        var out = [Double](repeating: .nan, count: rows * refRows)
        q.withUnsafeBufferPointer { qp in qn.withUnsafeBufferPointer { qnp in
            refs.withUnsafeBufferPointer { rp in rn.withUnsafeBufferPointer { rnp in
                out.withUnsafeMutableBufferPointer { op in
                    MatrixDistance.squaredDistances(queries: qp.baseAddress!, queryNorms: qnp.baseAddress!, rows: rows,
                                                    refs: rp.baseAddress!, refNorms: rnp.baseAddress!, refRows: refRows,
                                                    dim: dim, into: op.baseAddress!)
                }
            } }
        } }
        return out
    }

    @Test func normsAreSumsOfSquares() {
        #expect(MatrixDistance.rowSquaredNorms([3, 4, 1, -2, 0, 0], rows: 3, dim: 2) == [25, 5, 0])
    }

    @Test func squaredDistancesMatchANaiveSum() {
        let dim = 13, rows = 9, refRows = 31
        let q = Self.rows(rows, dim, seed: 5), refs = Self.rows(refRows, dim, seed: 6, scale: 2)
        let got = Self.squared(q, rows: rows, refs, refRows: refRows, dim: dim)
        for i in 0..<rows {
            for j in 0..<refRows {
                let want = Self.naive(q, i, refs, j, dim: dim)
                #expect(abs(got[i * refRows + j] - want) <= 1e-9 * max(1, want), "[\(i)][\(j)] \(got[i * refRows + j]) vs \(want)")
            }
        }
    }

    @Test func cancellationIsClampedAtZeroAndExactDistanceRefines() {
        // Far from the origin the two norms are ~1e12 and their difference rounds:
        // the formula can go negative for a row against itself, and must not.
        let dim = 8
        let refs = Self.rows(4, dim, seed: 7, scale: 1e-3, offset: 1e6)
        let got = Self.squared(refs, rows: 4, refs, refRows: 4, dim: dim)
        #expect(got.allSatisfy { $0 >= 0 })
        refs.withUnsafeBufferPointer { p in
            let base = p.baseAddress!
            #expect(MatrixDistance.exactDistance(base, base, dim: dim) == 0)
            for j in 1..<4 {
                let want = Self.naive(refs, 0, refs, j, dim: dim).squareRoot()
                #expect(abs(MatrixDistance.exactDistance(base, base + j * dim, dim: dim) - want) <= 1e-12 * want)
            }
        }
        // Hand-computed: (0,0) to (3,4) is 5.
        [0.0, 0, 3, 4].withUnsafeBufferPointer { p in
            #expect(MatrixDistance.exactDistance(p.baseAddress!, p.baseAddress! + 2, dim: 2) == 5)
        }
    }

    @Test func emptyBatchesWriteNothing() {
        let out = Self.squared([], rows: 0, [1, 2], refRows: 1, dim: 2)
        #expect(out.isEmpty)
    }

    @Test func kNearestAgreesWithASortKeepingLowerIndicesOnTies() {
        var r = TestRNG(state: 9)
        // Values from a small set so ties are common.
        let row = (0..<50).map { _ in Double(r.next() % 7) }
        for k in [1, 3, 10, 49] {
            for exclude in [-1, 0, 17] {
                var idx = [Int](repeating: -1, count: k), val = [Double](repeating: .nan, count: k)
                row.withUnsafeBufferPointer { rp in
                    idx.withUnsafeMutableBufferPointer { ip in val.withUnsafeMutableBufferPointer { vp in
                        KNearest.select(row: rp.baseAddress!, n: row.count, k: k, exclude: exclude,
                                        idx: ip.baseAddress!, val: vp.baseAddress!)
                    } }
                }
                let want = row.indices.filter { $0 != exclude }
                    .sorted { row[$0] != row[$1] ? row[$0] < row[$1] : $0 < $1 }.prefix(k)
                #expect(idx == Array(want), "k \(k) exclude \(exclude)")
                #expect(val == want.map { row[$0] })
            }
        }
    }
}
