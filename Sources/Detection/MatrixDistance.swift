/// Batched squared Euclidean distances via ‖q‖² + ‖r‖² − 2 q·r (one DGEMM per batch).
public enum MatrixDistance {
    /// `norms[i] = Σ_j m[i·dim + j]²` for `rows` rows.
    public static func rowSquaredNorms(_ m: UnsafePointer<Double>, rows: Int, dim: Int,
                                        into norms: UnsafeMutablePointer<Double>) {
        for i in 0..<rows {
            var s = 0.0
            let r = m + i * dim
            for j in 0..<dim { s += r[j] * r[j] }
            norms[i] = s
        }
    }

    public static func rowSquaredNorms(_ m: [Double], rows: Int, dim: Int) -> [Double] {
        var out = [Double](repeating: 0, count: rows)
        m.withUnsafeBufferPointer { mp in
            out.withUnsafeMutableBufferPointer { op in
                rowSquaredNorms(mp.baseAddress!, rows: rows, dim: dim, into: op.baseAddress!)
            }
        }
        return out
    }

    /// `out[i·refRows + j] = max(0, ‖q_i‖² + ‖r_j‖² − 2 q_i·r_j)`, row-major `rows × refRows`.
    /// Negative values from cancellation are clamped to 0.
    public static func squaredDistances(queries: UnsafePointer<Double>, queryNorms: UnsafePointer<Double>,
                                         rows: Int,
                                         refs: UnsafePointer<Double>, refNorms: UnsafePointer<Double>,
                                         refRows: Int, dim: Int,
                                         into out: UnsafeMutablePointer<Double>) {
        guard rows > 0, refRows > 0 else { return }
        BLAS.gemmABt(m: rows, n: refRows, k: dim, alpha: -2, a: queries, b: refs, beta: 0, c: out)
        for i in 0..<rows {
            let qn = queryNorms[i]
            let o = out + i * refRows
            for j in 0..<refRows {
                let v = o[j] + qn + refNorms[j]
                o[j] = v > 0 ? v : 0
            }
        }
    }

    /// Exact Euclidean distance between two rows (no cancellation), used to refine selected neighbours.
    @inline(__always)
    public static func exactDistance(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, dim: Int) -> Double {
        var s = 0.0
        for j in 0..<dim {
            let d = a[j] - b[j]
            s += d * d
        }
        return s.squareRoot()
    }
}

/// Selection of the k smallest values of a distance row (sorted insertion; k is small).
public enum KNearest {
    /// Writes the indices and values of the `k` smallest entries of `row[0..<n]` (skipping
    /// index `exclude`) in ascending order into `idx`/`val`. Ties keep the lower index first.
    /// Requires `k ≤ n − (exclude == nil ? 0 : 1)`.
    @inline(__always)
    public static func select(row: UnsafePointer<Double>, n: Int, k: Int, exclude: Int = -1,
                               idx: UnsafeMutablePointer<Int>, val: UnsafeMutablePointer<Double>) {
        var filled = 0
        for j in 0..<n where j != exclude {
            let v = row[j]
            if filled < k {
                var p = filled
                while p > 0 && val[p - 1] > v {
                    val[p] = val[p - 1]; idx[p] = idx[p - 1]; p -= 1
                }
                val[p] = v; idx[p] = j
                filled += 1
            } else if v < val[k - 1] {
                var p = k - 1
                while p > 0 && val[p - 1] > v {
                    val[p] = val[p - 1]; idx[p] = idx[p - 1]; p -= 1
                }
                val[p] = v; idx[p] = j
            }
        }
    }
}
