import Features

/// Flow-table limits and timeouts. Timeouts are seconds of packet time.
/// Defaults follow Suricata's flow-timeouts (new/established per protocol).
public struct FlowTableConfig: Sendable {
    /// Hard cap on flows held at once, over all stripes.
    public var maxFlows: Int = 131_072
    /// Number of stripes (rounded up to a power of two).
    public var stripes: Int = 16
    public var tcpNewTimeout: Double = 60
    public var tcpEstablishedTimeout: Double = 600
    /// Linger after FIN both ways or RST, for stragglers (final ACKs, retransmissions).
    public var tcpClosedLinger: Double = 5
    public var udpNewTimeout: Double = 30
    public var udpEstablishedTimeout: Double = 300
    public var icmpNewTimeout: Double = 30
    public var icmpEstablishedTimeout: Double = 300
    public var otherNewTimeout: Double = 30
    public var otherEstablishedTimeout: Double = 300
    /// A flow older than this is cut and continues as a new record.
    public var activeTimeout: Double = 1800
    /// Flows that may hold a payload byte histogram (1 KiB each) at once.
    public var histogramCapacity: Int = 32_768
    /// Remembered first fragments (to give later fragments their ports).
    public var fragmentSlots: Int = 4096
    public var features = FeatureConfig()
    public var hostContext = HostContextConfig()

    public init() {}

    /// Sets every idle timeout (new and established, all protocols) to one value.
    public mutating func setIdleTimeout(_ s: Double) {
        tcpNewTimeout = s; tcpEstablishedTimeout = s
        udpNewTimeout = s; udpEstablishedTimeout = s
        icmpNewTimeout = s; icmpEstablishedTimeout = s
        otherNewTimeout = s; otherEstablishedTimeout = s
    }

    /// The longest idle timeout (ns): by packet time T every flow whose last
    /// packet came before T minus this has been ended.
    public var longestIdleTimeoutNs: Int64 { classTimeoutsNs.max() ?? 0 }

    /// Idle timeout of each timeout class, in nanoseconds.
    var classTimeoutsNs: [Int64] {
        [tcpNewTimeout, tcpEstablishedTimeout, tcpClosedLinger,
         udpNewTimeout, udpEstablishedTimeout,
         icmpNewTimeout, icmpEstablishedTimeout,
         otherNewTimeout, otherEstablishedTimeout].map { Int64(($0 * 1e9).rounded()) }
    }
}

/// Counters a flow table keeps (all 64-bit, never wrapping in practice).
public struct FlowCounters: Sendable {
    public var created: UInt64 = 0
    public var ended = [UInt64](repeating: 0, count: EndReason.allCases.count)
    public var fragmentsMatched: UInt64 = 0
    public var fragmentOrphans: UInt64 = 0
    public var negativeIATs: UInt64 = 0
    public init() {}
    public mutating func merge(_ o: FlowCounters) {
        created &+= o.created
        for i in ended.indices { ended[i] &+= o.ended[i] }
        fragmentsMatched &+= o.fragmentsMatched
        fragmentOrphans &+= o.fragmentOrphans
        negativeIATs &+= o.negativeIATs
    }
    public func ended(_ r: EndReason) -> UInt64 { ended[Int(r.rawValue)] }
}
