/// Order statistics and dispersion measures over a short series (the
/// sessions of one pair), with the definitions RITA v5 uses for its beacon
/// scores (`activecm/rita:analysis/beacons.go`, quartiles and MAD from
/// `montanaflynn/stats`). docs/features.md gives each formula.
public enum SeriesStatistics {
    /// Median of sorted values (mean of the middle two for an even count); 0 when empty.
    public static func median(sorted x: ArraySlice<Double>) -> Double {
        guard !x.isEmpty else { return 0 }
        let n = x.count, s = x.startIndex
        return n % 2 == 1 ? x[s + n / 2] : (x[s + n / 2 - 1] + x[s + n / 2]) / 2
    }

    /// Quartiles as `montanaflynn/stats.Quartile`: Q2 is the median, Q1 and
    /// Q3 the medians of the lower and upper halves, the middle element left
    /// out of both halves when the count is odd. Needs at least 3 values.
    public static func quartiles(sorted x: [Double]) -> (q1: Double, q2: Double, q3: Double) {
        let n = x.count
        let half = n / 2
        let lower = x[0..<half]
        let upper = x[(n % 2 == 1 ? half + 1 : half)..<n]
        return (median(sorted: lower), median(sorted: x[...]), median(sorted: upper))
    }

    /// Bowley (quartile) skewness (Q1 + Q3 − 2·Q2) / (Q3 − Q1), taken as 0
    /// when the interquartile range is below `minIQR` or the median equals a
    /// quartile (RITA's guards: small spreads cannot make a large skew).
    public static func bowleySkewness(sorted x: [Double], minIQR: Double) -> Double {
        guard x.count >= 3 else { return 0 }
        let (q1, q2, q3) = quartiles(sorted: x)
        let iqr = q3 - q1
        if iqr < minIQR || q2 == q1 || q2 == q3 { return 0 }
        return (q1 + q3 - 2 * q2) / iqr
    }

    /// Median absolute deviation about the median: median(|xᵢ − median(x)|).
    public static func medianAbsoluteDeviation(sorted x: [Double]) -> Double {
        var scratch: [Double] = []
        return medianAbsoluteDeviation(sorted: x, scratch: &scratch)
    }

    /// The same, with the deviations sorted in `scratch` (reused storage).
    public static func medianAbsoluteDeviation(sorted x: [Double], scratch: inout [Double]) -> Double {
        guard !x.isEmpty else { return 0 }
        let m = median(sorted: x[...])
        scratch.removeAll(keepingCapacity: true)
        for v in x { scratch.append(abs(v - m)) }
        scratch.sort()
        return median(sorted: scratch[...])
    }

    /// RITA's statistical regularity score of a series, in [0, 1]:
    /// ((1 − |Bowley|) + madScore) / 2, with madScore = (median − MAD) / median
    /// when the median is ≥ 1 and `defaultMADScore` otherwise, clamped to ≥ 0.
    /// Values rounded to 3 decimals as RITA does.
    public static func regularityScore(sorted x: [Double], minIQR: Double, defaultMADScore: Double)
        -> (score: Double, skew: Double, mad: Double)
    {
        var scratch: [Double] = []
        return regularityScore(sorted: x, minIQR: minIQR, defaultMADScore: defaultMADScore, scratch: &scratch)
    }

    /// The same, with reused scratch storage.
    public static func regularityScore(sorted x: [Double], minIQR: Double, defaultMADScore: Double,
                                       scratch: inout [Double]) -> (score: Double, skew: Double, mad: Double) {
        let skew = bowleySkewness(sorted: x, minIQR: minIQR)
        let med = median(sorted: x[...])
        let mad = medianAbsoluteDeviation(sorted: x, scratch: &scratch)
        var madScore = med >= 1 ? (med - mad) / med : defaultMADScore
        if !(madScore >= 0) { madScore = 0 }
        let score = round3(((1 - abs(skew)) + madScore) / 2)
        return (score, skew, mad)
    }

    /// Missed beats, folded back (ours, not RITA's): in sorted gaps, a gap
    /// within 10 % of k × the median (k = 2…4) is k beats of gap / k — a
    /// beacon that skipped a check-in, or a check-in the sensor did not see.
    /// RITA's 24-hour series are long enough for such outliers to sit beyond
    /// the quartiles; in a ring of 32 sessions two of them move Q3 and give
    /// a regular beacon a Bowley skewness near 1. Keeps the array sorted; at
    /// most `2 × ringLength` values.
    public static func splitMissedBeats(_ sorted: inout [Double], limit: Int = 64) {
        guard sorted.count >= 3 else { return }
        let m = median(sorted: sorted[...])
        guard m > 0 else { return }
        var changed = false
        let n = sorted.count
        for i in 0..<n {
            let g = sorted[i]
            guard g >= 1.5 * m else { continue }
            let k = (g / m).rounded()
            guard k >= 2, k <= 4, abs(g / k - m) <= 0.1 * m, sorted.count + Int(k) - 1 <= limit else { continue }
            sorted[i] = g / k
            for _ in 1..<Int(k) { sorted.append(g / k) }
            changed = true
        }
        if changed { sorted.sort() }
    }

    /// Coefficient of variation σ/μ (population σ); 0 for an empty series or a zero mean.
    public static func coefficientOfVariation(_ x: [Double]) -> Double {
        guard !x.isEmpty else { return 0 }
        let mean = x.reduce(0, +) / Double(x.count)
        guard mean > 0 else { return 0 }
        let v = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
        return v.squareRoot() / mean
    }

    /// Share of the values in the most common bin of width `binWidth`
    /// (⌊x / binWidth⌋); 0 for an empty series.
    public static func modalShare(_ x: [Double], binWidth: Double) -> Double {
        var scratch: [Double] = []
        return modalShare(x, binWidth: binWidth, scratch: &scratch)
    }

    /// The same, with the bins sorted in `scratch` (reused storage).
    public static func modalShare(_ x: [Double], binWidth: Double, scratch: inout [Double]) -> Double {
        guard !x.isEmpty else { return 0 }
        scratch.removeAll(keepingCapacity: true)
        for v in x { scratch.append((v / binWidth).rounded(.down)) }
        scratch.sort()
        var best = 1, run = 1
        for i in 1..<max(1, scratch.count) {
            run = scratch[i] == scratch[i - 1] ? run + 1 : 1
            best = max(best, run)
        }
        return Double(best) / Double(x.count)
    }

    /// Rounded to 3 decimals, as RITA reports its scores.
    public static func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}
