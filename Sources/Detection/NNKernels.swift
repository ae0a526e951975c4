import COpenBLAS

/// Float building blocks on OpenBLAS shared by inference and training.
public enum NNKernels {
    /// Row-major C = alpha * op(A) * op(B) + beta * C.
    @inline(__always)
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int, beta: Float,
                            c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    /// Sets OpenBLAS's thread count (use 1 for per-core measurements).
    public static func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// im2col for a "same"-padded 1-D convolution over `count` sequences of `seqLen` steps and
    /// `channels` channels (layout `[n][t][c]`). Output row `n*seqLen+t` holds, for each tap
    /// `j` in `0..<kernel`, the input at step `t + j - kernel/2` — or zeros if that step is
    /// outside `0..<length[n]` (so padding and truncation look identical to the model).
    public static func im2col(x: UnsafePointer<Float>, count: Int, seqLen: Int, channels: Int,
                              kernel: Int, lengths: UnsafePointer<Int>, cols: UnsafeMutablePointer<Float>) {
        let pad = kernel / 2
        let rowWidth = kernel * channels
        for n in 0 ..< count {
            let len = min(max(lengths[n], 0), seqLen)
            for t in 0 ..< seqLen {
                let row = cols + (n * seqLen + t) * rowWidth
                for j in 0 ..< kernel {
                    let s = t + j - pad
                    let dst = row + j * channels
                    if s >= 0 && s < len {
                        dst.update(from: x + (n * seqLen + s) * channels, count: channels)
                    } else {
                        dst.update(repeating: 0, count: channels)
                    }
                }
            }
        }
    }

    /// y[r][f] = max(0, y[r][f] + bias[f]) for rows at valid steps, 0 for steps >= length.
    public static func biasReLUMasked(_ y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                                      count: Int, seqLen: Int, features: Int, lengths: UnsafePointer<Int>) {
        for n in 0 ..< count {
            let len = min(max(lengths[n], 0), seqLen)
            for t in 0 ..< seqLen {
                let row = y + (n * seqLen + t) * features
                if t < len {
                    for f in 0 ..< features { let v = row[f] + bias[f]; row[f] = v > 0 ? v : 0 }
                } else {
                    row.update(repeating: 0, count: features)
                }
            }
        }
    }

    /// Broadcast `bias` into every row of `rows x cols` matrix `y` (used before a beta=1 gemm).
    public static func fillRows(_ y: UnsafeMutablePointer<Float>, with bias: UnsafePointer<Float>, rows: Int, cols: Int) {
        for r in 0 ..< rows { (y + r * cols).update(from: bias, count: cols) }
    }
}
