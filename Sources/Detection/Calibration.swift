/// Quantiles with numpy's default ("linear") interpolation.
public enum Quantiles {
    /// `sorted` must be ascending and non-empty; `q` ∈ [0, 1].
    public static func linear(sorted: [Double], q: Double) -> Double {
        precondition(!sorted.isEmpty)
        let pos = min(max(q, 0), 1) * Double(sorted.count - 1)
        let lo = Int(pos.rounded(.down))
        let hi = min(lo + 1, sorted.count - 1)
        let frac = pos - Double(lo)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * frac
    }

    /// `count` evenly spaced quantiles (0, 1/(count−1), …, 1) of the finite values.
    public static func table(_ values: [Double], count: Int) -> [Double] {
        precondition(count >= 2)
        let s = values.filter { $0.isFinite }.sorted()
        precondition(!s.isEmpty, "need at least one finite value")
        return (0..<count).map { linear(sorted: s, q: Double($0) / Double(count - 1)) }
    }
}

/// Maps a raw novelty score to [0, 1] through the empirical CDF of benign validation scores,
/// stored as a compact quantile table: `calibrate(s) = 0.999` means `s` is more anomalous
/// than ≈99.9% of benign validation flows. Monotone (non-decreasing in anomalousness);
/// piecewise-linear between table entries; 0 below the benign minimum, 1 at/above the maximum.
/// NaN maps to 1 (treated as maximally anomalous).
public struct ScoreCalibrator: Sendable, Equatable {
    /// `false` for LOF `score_samples` and OCSVM decision values (higher = more normal).
    public let higherIsAnomalous: Bool
    /// Ascending quantiles of the anomaly-oriented benign scores (at 0, 1/(n−1), …, 1).
    public let quantiles: [Double]

    public init(higherIsAnomalous: Bool, quantiles: [Double]) {
        precondition(quantiles.count >= 2, "need at least two quantiles")
        precondition(zip(quantiles, quantiles.dropFirst()).allSatisfy { $0 <= $1 }, "quantiles must be ascending")
        self.higherIsAnomalous = higherIsAnomalous
        self.quantiles = quantiles
    }

    /// Fits from benign validation scores (raw orientation).
    public static func fit(benignScores: [Double], higherIsAnomalous: Bool, quantileCount: Int = 1001) -> ScoreCalibrator {
        let oriented = benignScores.map { higherIsAnomalous ? $0 : -$0 }
        return ScoreCalibrator(higherIsAnomalous: higherIsAnomalous,
                               quantiles: Quantiles.table(oriented, count: quantileCount))
    }

    public static func fit(benignScores: [Float], higherIsAnomalous: Bool, quantileCount: Int = 1001) -> ScoreCalibrator {
        fit(benignScores: benignScores.map(Double.init), higherIsAnomalous: higherIsAnomalous, quantileCount: quantileCount)
    }

    @inline(__always)
    public func calibrate(_ raw: Double) -> Double {
        if raw.isNaN { return 1 }
        let s = higherIsAnomalous ? raw : -raw
        return quantiles.withUnsafeBufferPointer { q in
            let n = q.count
            if s < q[0] { return 0 }
            if s >= q[n - 1] { return 1 }
            // Largest i with q[i] <= s (so plateaus map to their top: P(benign ≤ s)).
            var lo = 0, hi = n - 1  // invariant: q[lo] <= s < q[hi]
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if q[mid] <= s { lo = mid } else { hi = mid }
            }
            let frac = (s - q[lo]) / (q[hi] - q[lo])
            return (Double(lo) + frac) / Double(n - 1)
        }
    }

    /// In place, no allocation.
    public func calibrate(batch: UnsafeMutableBufferPointer<Float>) {
        for i in batch.indices { batch[i] = Float(calibrate(Double(batch[i]))) }
    }

    public func calibrated(_ raw: [Float]) -> [Float] {
        raw.map { Float(calibrate(Double($0))) }
    }

    // MARK: Bundle coding

    public func encode() -> [UInt8] {
        var w = BundleWriter()
        w.tag("CAL1")
        w.bool(higherIsAnomalous)
        w.f64Array(quantiles)
        return w.bytes
    }

    public init(decoding bytes: [UInt8], section: String = "calib") throws(BundleError) {
        var r = BundleReader(bytes, section: section)
        try r.expectTag("CAL1")
        let h = try r.bool()
        let q = try r.f64Array()
        try r.expectEnd()
        guard q.count >= 2, q.allSatisfy({ $0.isFinite }), zip(q, q.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw r.fail("quantile table must hold ≥ 2 finite ascending values")
        }
        self.init(higherIsAnomalous: h, quantiles: q)
    }
}

/// A decision threshold chosen for a target false-positive rate on benign validation scores.
public struct FPRThreshold: Sendable, Equatable {
    public let higherIsAnomalous: Bool
    /// Alert when the raw score is beyond this (strictly greater if `higherIsAnomalous`, else strictly less).
    public let rawThreshold: Double
    /// Fraction of the benign validation scores that would alert (≤ the target).
    public let achievedFPR: Double
    public let targetFPR: Double

    @inline(__always)
    public func isAnomalous(_ raw: Double) -> Bool {
        if raw.isNaN { return true }
        return higherIsAnomalous ? raw > rawThreshold : raw < rawThreshold
    }

    /// The largest-coverage threshold whose benign false-positive rate does not exceed `rate`:
    /// at most ⌊rate·n⌋ benign scores are strictly beyond it (ties at the threshold do not alert).
    public static func choose(forFalsePositiveRate rate: Double, benignScores: [Double],
                              higherIsAnomalous: Bool) -> FPRThreshold {
        precondition(rate >= 0 && rate <= 1)
        let oriented = benignScores.filter { !$0.isNaN }.map { higherIsAnomalous ? $0 : -$0 }.sorted()
        precondition(!oriented.isEmpty, "need benign scores")
        let n = oriented.count
        let allowed = Int((rate * Double(n)).rounded(.down))
        var t: Double
        if allowed >= n {
            t = -Double.infinity
        } else {
            t = oriented[n - 1 - allowed]
        }
        let alerts = oriented.filter { $0 > t }.count
        return FPRThreshold(higherIsAnomalous: higherIsAnomalous,
                            rawThreshold: higherIsAnomalous ? t : -t,
                            achievedFPR: Double(alerts) / Double(n), targetFPR: rate)
    }
}
