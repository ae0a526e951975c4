/// What the sensor knew about a flow's endpoints when the flow started,
/// over the sliding window (see `HostContextTable`).
public struct HostContextSnapshot: Sendable, Equatable {
    public var srcFlows: UInt32 = 0
    public var srcDistinctDsts: UInt32 = 0
    public var srcDistinctDports: UInt32 = 0
    public var srcFailedHandshakes: UInt32 = 0
    public var dstFlows: UInt32 = 0
    public var dstDistinctSrcs: UInt32 = 0
    public var dstHalfOpen: UInt32 = 0
    public init() {}
}

public struct HostContextConfig: Sendable, Equatable {
    /// Sliding window length, split into `buckets` equal buckets.
    public var windowSeconds: Int = 60
    public var buckets: Int = 6
    /// Hosts tracked at once (memory is fixed: about 1.1 KiB a host).
    public var capacity: Int = 32768
    public init() {}
}
