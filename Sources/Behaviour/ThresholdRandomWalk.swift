import Foundation

/// The threshold random walk of Jung, Paxson, Berger and Balakrishnan,
/// "Fast Portscan Detection Using Sequential Hypothesis Testing" (IEEE S&P
/// 2004): per source, Wald's sequential probability ratio test over the
/// outcomes of its first contacts. A success multiplies the likelihood
/// ratio by θ1/θ0, a failure by (1 − θ1)/(1 − θ0); the source is declared a
/// scanner when ln Λ ≥ ln(β/α) and benign when ln Λ ≤ ln((1 − β)/(1 − α)),
/// after which the walk starts again from 0 (a benign verdict does not
/// protect a host that starts scanning later). With θ0 = 0.8, θ1 = 0.2,
/// α = 0.01, β = 0.99: each step is ±ln 4 and 4 failures in a row decide.
public struct ThresholdRandomWalk: Sendable, Equatable {
    public let successStep: Double
    public let failureStep: Double
    public let upper: Double
    public let lower: Double

    public init(theta0: Double, theta1: Double, alpha: Double, beta: Double) {
        successStep = log(theta1 / theta0)
        failureStep = log((1 - theta1) / (1 - theta0))
        upper = log(beta / alpha)
        lower = log((1 - beta) / (1 - alpha))
    }

    /// The walk's next value after an outcome, and whether it decided H1
    /// (scanner). A value at or below the lower threshold restarts at 0.
    public func step(_ llr: Double, failed: Bool) -> (llr: Double, scanner: Bool) {
        let next = llr + (failed ? failureStep : successStep)
        if next >= upper { return (next, true) }
        if next <= lower { return (0, false) }
        return (next, false)
    }

    /// The walk's position as a score in [0, 1]: 0 at or below the start,
    /// 1 at the scanner threshold.
    public func score(_ llr: Double) -> Double { min(1, max(0, llr / upper)) }
}
