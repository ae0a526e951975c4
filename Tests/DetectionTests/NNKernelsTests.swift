import Testing
import Detection
import ModelFixtures

@Suite struct NNKernelsTests {
    static func randoms(_ n: Int, seed: UInt64) -> [Float] {
        var r = TestRNG(state: seed)
        return (0..<n).map { _ in Float(r.uniform() * 4 - 2) }
    }

    /// C = alpha·op(A)·op(B) + beta·C against a triple loop in Double, for every transpose.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesANaiveLoop(transA: Bool, transB: Bool) {
        let m = 5, n = 7, k = 3
        let a = Self.randoms(m * k, seed: 1), b = Self.randoms(k * n, seed: 2), c0 = Self.randoms(m * n, seed: 3)
        // Stored shapes: A is m×k (or k×m when transposed), B is k×n (or n×k).
        let lda = transA ? m : k, ldb = transB ? k : n
        func A(_ i: Int, _ p: Int) -> Double { Double(transA ? a[p * lda + i] : a[i * lda + p]) }
        func B(_ p: Int, _ j: Int) -> Double { Double(transB ? b[j * ldb + p] : b[p * ldb + j]) }
        var c = c0
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    NNKernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5,
                                   a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                                   beta: 2, c: cp.baseAddress!, ldc: n)
                }
            }
        }
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += A(i, p) * B(p, j) }
                let want = 0.5 * s + 2 * Double(c0[i * n + j])
                #expect(abs(Double(c[i * n + j]) - want) < 1e-5, "[\(i)][\(j)]")
            }
        }
    }

    @Test func im2colTakesNeighbouringStepsAndZeroesOutsideTheFlow() {
        // One flow, 4 steps of 2 channels, length 3, kernel 3: x[t] = (10t+1, 10t+2).
        let x: [Float] = [1, 2, 11, 12, 21, 22, 31, 32]
        var cols = [Float](repeating: .nan, count: 4 * 6)
        x.withUnsafeBufferPointer { xp in
            [3].withUnsafeBufferPointer { lp in
                cols.withUnsafeMutableBufferPointer { cp in
                    NNKernels.im2col(x: xp.baseAddress!, count: 1, seqLen: 4, channels: 2, kernel: 3,
                                     lengths: lp.baseAddress!, cols: cp.baseAddress!)
                }
            }
        }
        #expect(cols == [
            0, 0, 1, 2, 11, 12,       // t=0: step -1 is padding
            1, 2, 11, 12, 21, 22,     // t=1
            11, 12, 21, 22, 0, 0,     // t=2: step 3 is past the length (3)
            21, 22, 0, 0, 0, 0,       // t=3: itself past the length, step 2 still inside
        ])
    }

    @Test func biasReLUMaskedAndFillRows() {
        var y: [Float] = [1, -3, 0.5, -0.5, 7, 7]   // 1 flow, 3 steps, 2 features, length 2
        let bias: [Float] = [1, 1]
        y.withUnsafeMutableBufferPointer { yp in
            bias.withUnsafeBufferPointer { bp in
                [2].withUnsafeBufferPointer { lp in
                    NNKernels.biasReLUMasked(yp.baseAddress!, bias: bp.baseAddress!, count: 1, seqLen: 3,
                                             features: 2, lengths: lp.baseAddress!)
                }
            }
        }
        #expect(y == [2, 0, 1.5, 0.5, 0, 0])
        var z = [Float](repeating: 0, count: 6)
        z.withUnsafeMutableBufferPointer { zp in
            [Float(4), 5].withUnsafeBufferPointer { NNKernels.fillRows(zp.baseAddress!, with: $0.baseAddress!, rows: 3, cols: 2) }
        }
        #expect(z == [4, 5, 4, 5, 4, 5])
    }
}
