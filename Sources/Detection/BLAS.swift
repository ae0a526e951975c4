import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Thin, typed wrappers over the OpenBLAS routines the novelty detectors use.
public enum BLAS {
    /// Row-major `C[m×n] = alpha · A[m×k] · B[n×k]ᵀ + beta · C`.
    @inline(__always)
    public static func gemmABt(m: Int, n: Int, k: Int, alpha: Double,
                                a: UnsafePointer<Double>, b: UnsafePointer<Double>,
                                beta: Double, c: UnsafeMutablePointer<Double>) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                    blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(k), b, blasint(k),
                    beta, c, blasint(n))
    }

    /// Row-major `y[m] = alpha · A[m×n] · x[n] + beta · y`.
    @inline(__always)
    public static func gemv(m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>,
                             x: UnsafePointer<Double>, beta: Double, y: UnsafeMutablePointer<Double>) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, blasint(m), blasint(n),
                    alpha, a, blasint(n), x, 1, beta, y, 1)
    }
}

/// Process-wide OpenBLAS settings.
public enum BLASRuntime {
    /// Number of threads OpenBLAS may use for one call (OpenBLAS's own global setting;
    /// set it once at start-up, e.g. to 1 when several scoring tasks run in parallel).
    /// Nothing when OpenBLAS already uses `n`: setting the count starts
    /// OpenBLAS's worker threads again after `singleThreaded()` stopped
    /// them (its lazy re-start after a fork), and they spin (sched_yield)
    /// for ~0.1 s, a core's worth of CPU while a replay starts.
    public static func setThreadCount(_ n: Int) {
        let n = Int32(max(1, n))
        guard openblas_get_num_threads() != n else { return }
        openblas_set_num_threads(n)
    }

    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// One thread, and the worker threads OpenBLAS started when it was
    /// loaded stopped. They spin (sched_yield) for ~0.1 s after start-up and
    /// then sleep, but on a two-core machine that spin takes the core the
    /// writer or output thread needs (a short replay ran ~10 % slower), and a
    /// scorer uses one core anyway. Unless OPENBLAS_NUM_THREADS asks for more.
    public static func singleThreaded() {
        if let v = getenv("OPENBLAS_NUM_THREADS"), let n = Int(String(cString: v)), n > 1 { return }
        openblas_set_num_threads(1)
        _ = blas_thread_shutdown_()
    }
}
