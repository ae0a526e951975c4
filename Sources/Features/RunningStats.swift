/// Welford's streaming count, mean and sum of squared deviations: the one
/// updater behind `RunningStats` and `LengthStats` (numerically stable,
/// unlike E[x²] − mean²). 20 bytes, so the enclosing types can keep their
/// other fields in its tail.
struct WelfordMoments: Sendable, Equatable {
    var mean: Double = 0
    var m2: Double = 0
    var count: UInt32 = 0

    /// Starts over with `x` as the only value.
    @inline(__always)
    mutating func restart(_ x: Double) {
        count = 1; mean = x; m2 = 0
    }

    /// Adds `x`; returns true when it is the first value (the caller then
    /// starts its extremes at `x`).
    @inline(__always)
    mutating func add(_ x: Double) -> Bool {
        count &+= 1
        if count == 1 {
            mean = x; m2 = 0
            return true
        }
        let delta = x - mean
        mean += delta / Double(count)
        m2 += delta * (x - mean)
        return false
    }

    /// Sample variance (divisor n − 1, as CICFlowMeter and nfstream use); 0 below two values.
    var variance: Double { count < 2 ? 0 : Swift.max(0, m2 / Double(count - 1)) }
}

/// Streaming count, mean, variance (Welford), min and max of one quantity.
/// Numerically stable; 40 bytes; never allocates.
public struct RunningStats: Sendable, Equatable {
    var moments = WelfordMoments()
    public var min: Double = 0
    public var max: Double = 0

    public init() {}

    public var count: UInt32 { moments.count }
    public var mean: Double { moments.mean }

    /// Starts over with `x` as the only value, whatever was held before
    /// (what `add` does to a fresh accumulator): lets a reused flow slot skip
    /// clearing the statistics it may never use.
    @inline(__always)
    public mutating func restart(_ x: Double) {
        moments.restart(x); min = x; max = x
    }

    @inline(__always)
    public mutating func add(_ x: Double) {
        if moments.add(x) {
            min = x; max = x
            return
        }
        if x < min { min = x }
        if x > max { max = x }
    }

    /// Sample variance (divisor n − 1, as CICFlowMeter and nfstream use); 0 below two values.
    public var variance: Double { moments.variance }

    /// Sample standard deviation; 0 below two values.
    public var std: Double { variance.squareRoot() }
}

/// Streaming statistics of packet lengths (0…65535): Welford mean and
/// variance with the extremes kept as UInt16 — 24 bytes instead of 40.
public struct LengthStats: Sendable, Equatable {
    var moments = WelfordMoments()
    public var minLength: UInt16 = 0
    public var maxLength: UInt16 = 0

    public init() {}

    public var count: UInt32 { moments.count }
    public var mean: Double { moments.mean }

    /// Starts over with `length` as the only value (see `RunningStats.restart`).
    @inline(__always)
    public mutating func restart(_ length: Int) {
        let v = UInt16(clamping: length)
        moments.restart(Double(v)); minLength = v; maxLength = v
    }

    @inline(__always)
    public mutating func add(_ length: Int) {
        let v = UInt16(clamping: length)
        if moments.add(Double(v)) {
            minLength = v; maxLength = v
            return
        }
        if v < minLength { minLength = v }
        if v > maxLength { maxLength = v }
    }

    public var min: Double { Double(minLength) }
    public var max: Double { Double(maxLength) }
    /// Sample variance (n − 1); 0 below two values.
    public var variance: Double { moments.variance }
    public var std: Double { variance.squareRoot() }
}
