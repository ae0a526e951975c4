#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Shannon entropy in bits of a distribution given by counts.
public enum Entropy {
    /// H = log2(N) − (1/N)·Σ c·log2(c) over the non-zero counts, N = Σ c.
    public static func bits<C: Collection>(counts: C) -> Double where C.Element: BinaryInteger {
        var total: Double = 0
        var sumClogC: Double = 0
        for c in counts where c > 0 {
            let d = Double(c)
            total += d
            sumClogC += d * log2(d)
        }
        guard total > 0 else { return 0 }
        return Swift.max(0, log2(total) - sumClogC / total)
    }
}

